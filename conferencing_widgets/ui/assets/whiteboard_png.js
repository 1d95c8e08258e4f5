// Whiteboard PNG downloads. Python renders the PNG from the stored log (its rights checked) and sends the bytes
// over the comm; they become a Blob URL saved under a safe name. The widget shows its own button when it has a
// board id. With `listen`, any element with `data-cw-wb-png="<board id>"` inside the same app (stream rows,
// area 3) asks for that board's PNG, and `data-cw-wb-open` asks Python to open the board inline (JupyterLab):
// one listener per app, no widget per board.

function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-wb-png-root");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "cw-wb-png-button jupyter-widgets jupyter-button widget-button";
  const status = document.createElement("span");
  status.className = "cw-wb-png-status cw-muted";
  status.setAttribute("aria-live", "polite");
  el.append(button, status);

  function sync() {
    button.textContent = model.get("label");
    button.hidden = !model.get("board") || !model.get("label");
  }
  sync();
  model.on("change:board", sync);
  model.on("change:label", sync);

  function ask(id) {
    status.textContent = tr("Rendering…");
    model.send({ type: "png", id });
  }
  button.addEventListener("click", () => ask(model.get("board")));

  model.on("msg:custom", (msg, buffers) => {
    if (!msg) return;
    if (msg.type === "png" && buffers && buffers.length === 1) {
      const blob = new Blob([buffers[0]], { type: "image/png" });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = String(msg.name || "whiteboard.png");
      a.className = "cw-wb-png-save";
      a.hidden = true;
      el.append(a);
      a.click();
      status.textContent = tr("Downloaded.");
      setTimeout(() => {
        URL.revokeObjectURL(url);
        a.remove();
        status.textContent = "";
      }, 4000);
    } else if (msg.type === "error") {
      status.textContent = String(msg.message || tr("The PNG could not be made."));
    }
  });

  // ipycanvas focuses the canvas on mousedown; a canvas taller than the window is then scrolled into view in the
  // middle of a stroke, and the rest of the stroke lands off by the scroll distance. Focus without scrolling.
  let tries = 0;
  function guardFocus() {
    const root = el.closest(".cw-whiteboard");
    const canvas = root ? root.querySelector("canvas.cw-whiteboard-canvas") : null;
    if (!canvas) {
      if (tries++ < 300) setTimeout(guardFocus, 100);
      return;
    }
    if (canvas.dataset.cwFocusGuard) return;
    const focus = HTMLElement.prototype.focus;
    canvas.focus = function (options) {
      focus.call(this, Object.assign({}, options || {}, { preventScroll: true }));
    };
    canvas.dataset.cwFocusGuard = "1";
  }
  if (model.get("board")) guardFocus();

  function onClick(ev) {
    if (!model.get("listen") || !ev.target.closest) return;
    const target = ev.target.closest("[data-cw-wb-png], [data-cw-wb-open]");
    if (!target) return;
    const app = el.closest(".cw-app");
    if (!app || !app.contains(target)) return; // another app on the same page, or none
    const id = Number(target.dataset.cwWbPng || target.dataset.cwWbOpen);
    if (!Number.isInteger(id) || id <= 0) return;
    ev.preventDefault();
    if (target.dataset.cwWbPng) ask(id);
    else model.send({ type: "open", id });
  }
  document.addEventListener("click", onClick);
  return () => document.removeEventListener("click", onClick);
}

export default { render };
