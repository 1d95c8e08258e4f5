// The start-video-conference button (class cw-video on the widget).
// A window opened outside a user gesture is blocked, so the click handler itself opens about:blank, then
// asks Python to start (or join) the call and sends that window to the URL Python answers with, however
// slow the kernel is. It also watches the window: when the member closes it, Python records that they left.
function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-video-root");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "cw-video-button";
  el.append(button); // a blocked window is reported to Python, which shows it in the area's error line

  let seq = 0;
  const pending = new Map(); // request number -> the window opened for it
  const watched = new Map(); // call id -> window, polled until closed

  function sync() {
    button.textContent = model.get("label");
    button.title = model.get("hint");
    button.disabled = model.get("disabled");
  }

  function showError(text) { model.send({ type: "blocked", message: text }); }

  function openBlank() {
    const win = window.open("about:blank", "_blank");
    if (!win) return null;
    try {
      // The meeting page must not be able to navigate this dashboard (reverse tabnabbing).
      win.opener = null;
      win.document.title = tr("Starting the video call…");
      win.document.body.textContent = tr("Starting the video call…");
    } catch (e) { /* cross-origin already: nothing to write */ }
    return win;
  }

  function watch(callId, win) {
    if (!callId || watched.has(callId)) return;
    watched.set(callId, win);
    const timer = setInterval(() => {
      if (!win.closed) return;
      clearInterval(timer);
      watched.delete(callId);
      model.send({ type: "closed", call: callId });
    }, 1000);
  }

  button.addEventListener("click", () => {
    if (model.get("disabled")) return;
    const win = openBlank();
    if (!win) {
      showError("Your browser blocked the call window. Allow pop-ups for this site, then press the button again.");
      return;
    }
    seq += 1;
    pending.set(seq, win);
    model.send({ type: "start", req: seq });
  });

  model.on("msg:custom", (msg) => {
    if (msg.type === "open" && pending.has(msg.req)) {
      const win = pending.get(msg.req);
      pending.delete(msg.req);
      win.location.href = msg.url;
      watch(msg.call, win);
    } else if (msg.type === "error" && pending.has(msg.req)) {
      const win = pending.get(msg.req);
      pending.delete(msg.req);
      win.close();
    } else if (msg.type === "open-now") {
      // Started from code (notebook or a row button without a link): no gesture, may be blocked.
      const win = openBlank();
      if (!win) { showError("Your browser blocked the call window. Allow pop-ups for this site."); return; }
      win.location.href = msg.url;
      watch(msg.call, win);
    }
  });
  for (const name of ["label", "hint", "disabled"]) model.on("change:" + name, sync);
  sync();
}
export default { render };
