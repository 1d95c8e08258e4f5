// The language switch (cw-lang): a labelled <select>. Python stores the choice as the user's preference; then a
// Voila page reloads with the link's `lang` replaced, so the whole app is rendered again in the new language.
function render({ model, el }) {
  el.classList.add("cw-lang-root");
  const label = document.createElement("label");
  label.className = "cw-lang-label";
  const select = document.createElement("select");
  select.className = "cw-lang-select";
  const id = "cw-lang-" + Math.random().toString(36).slice(2);
  select.id = id;
  label.htmlFor = id;
  el.append(label, select);

  function draw() {
    label.textContent = model.get("label");
    select.replaceChildren();
    for (const [code, name] of model.get("choices")) {
      const o = document.createElement("option");
      o.value = code;
      o.textContent = name;
      o.lang = code;
      select.append(o);
    }
    select.value = model.get("value");
  }
  select.addEventListener("change", () => model.send({ type: "choose", lang: select.value }));
  model.on("msg:custom", (msg) => {
    if (msg.type !== "chosen") return;
    if (document.body && document.body.dataset.voila !== undefined) {
      const url = new URL(window.location.href);
      url.searchParams.set("lang", msg.lang);
      window.location.replace(url.toString());
    }
  });
  for (const name of ["label", "choices", "value"]) model.on("change:" + name, draw);
  draw();
}
export default { render };
