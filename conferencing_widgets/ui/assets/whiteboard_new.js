// "+" -> Whiteboard session. The new window is opened in the click handler itself (a user gesture, so no popup
// blocker stops it) as about:blank; Python creates the board and answers with the board page's URL, and the
// window is sent there. However slow the kernel is, the window was already allowed to open.
// In "inline" mode (JupyterLab without a dashboard server) no window is opened: Python shows the board inline.

function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-wb-new-root");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "cw-wb-new-button jupyter-widgets jupyter-button widget-button";
  const note = document.createElement("div");
  note.className = "cw-wb-new-note";
  el.append(button, note);
  const pending = new Map(); // request id -> the window opened for it (or null when it was blocked)
  let seq = 0;

  function sync() {
    button.textContent = model.get("label");
    button.disabled = model.get("disabled");
  }
  sync();
  model.on("change:label", sync);
  model.on("change:disabled", sync);

  function safeUrl(raw) {
    try {
      const url = new URL(raw, document.baseURI);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function showLink(url) {
    note.replaceChildren();
    const a = document.createElement("a");
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener";
    a.className = "cw-wb-open-link";
    a.textContent = tr("Your browser blocked the new window: open the whiteboard here");
    note.append(a);
  }

  button.addEventListener("click", () => {
    if (model.get("disabled")) return;
    note.replaceChildren();
    const req = `${Date.now()}-${++seq}`;
    let win = null;
    if (model.get("mode") === "window") {
      try {
        win = window.open("about:blank", "_blank");
      } catch (e) {
        win = null;
      }
      if (win) {
        try {
          win.opener = null; // the board page gets no handle on this dashboard
          win.document.title = tr("Opening whiteboard…");
          win.document.body.textContent = tr("Opening the whiteboard…");
        } catch (e) {
          /* not fatal */
        }
      }
    }
    pending.set(req, win);
    model.send({ type: "create", req });
  });

  model.on("msg:custom", (msg) => {
    if (!msg || typeof msg.req !== "string") return;
    const win = pending.get(msg.req);
    pending.delete(msg.req);
    if (msg.type === "open") {
      const url = safeUrl(msg.url);
      if (!url) return;
      if (win && !win.closed) win.location.href = url;
      else showLink(url);
    } else if (win && !win.closed) {
      win.close(); // an error (shown by Python in the messages area) or an inline board
    }
  });
}

export default { render };
