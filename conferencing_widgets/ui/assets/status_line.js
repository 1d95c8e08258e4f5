// One line of live status under the stream ("Tom is typing…", "Seen by Alice"). The element stays in the page
// and only its text changes, so screen readers announce each change through aria-live.
function render({ model, el }) {
  const line = document.createElement("div");
  line.className = model.get("css_class");
  if (model.get("live")) line.setAttribute("aria-live", model.get("live"));
  // The line keeps its height when empty: text coming and going never shifts the stream or the composer.
  line.style.minHeight = "1.4em";
  line.style.lineHeight = "1.4em";
  line.style.overflow = "hidden";
  line.style.whiteSpace = "nowrap";
  line.style.textOverflow = "ellipsis";
  function sync() {
    line.textContent = model.get("text");
    line.dataset.empty = model.get("text") ? "false" : "true";
  }
  model.on("change:text", sync);
  sync();
  el.append(line);
}
export default { render };
