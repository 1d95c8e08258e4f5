// The call page of a provider hosted elsewhere (Jitsi): Python has recorded the visitor as a participant,
// so the page replaces itself with the meeting's URL. The link stays as a fallback.
function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-call-redirect");
  const text = document.createElement("p");
  text.textContent = tr("Opening {name}…", { name: model.get("label") });
  const link = document.createElement("a");
  link.className = "cw-call-redirect-link";
  link.href = model.get("url");
  link.rel = "noreferrer";
  link.textContent = tr("Open the meeting");
  el.append(text, link);
  if (model.get("url")) window.location.replace(model.get("url"));
}
export default { render };
