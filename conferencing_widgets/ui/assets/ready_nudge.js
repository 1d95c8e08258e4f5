// Sends a few small messages to the kernel after the page renders, until the kernel says the canvas is ready.
// In Voila, the canvas's own "client ready" message, sent while the kernel is still finishing the notebook, is at
// times only handled when the next message from the page arrives (a mouse move); these nudges are that next
// message. Each nudge says whether this page shows the canvas: when it does and "client ready" still has not come,
// the kernel replays the board on the third nudge (ReadyNudge in view.py). When even the nudges go unanswered,
// the kernel's shell is waiting for the next *connection* (ipykernel's lost edge-triggered wake-up, ipykernel
// issue 1554): the page then reconnects its kernel websocket once, as the old forced 30-s reconnect did for
// every page (ARCHITECTURE.md); the server's shell watchdog pokes such a kernel too.
// On render it first says hello. The canvas's "client ready" comes from its *model*, while the page is still
// building the board's other models, and an update the kernel sends to a model not built yet is dropped (the
// widget manager has made its comm but not its handler). This view renders only once the whole board exists, so
// the kernel's answer to the hello (the info line and the acknowledgement again) always lands.
const DELAYS_MS = [300, 700, 1500, 3000, 5000, 8000, 13000];
const RECONNECT_AT_STEP = 5; // about 10 s after render without an answer

export default {
  render({ model, el }) {
    el.style.display = "none";
    // Its state, for failure reports: how far the nudges went, whether the kernel acknowledged, what they said.
    el.classList.add("cw-wb-nudge");
    let step = 0;
    const note = () => {
      el.dataset.step = String(step);
      el.dataset.acknowledged = String(Boolean(model.get("acknowledged")));
    };
    model.on("change:acknowledged", note);
    let timer = null;
    let reconnected = false;
    const canvasShown = () => {
      const board = el.closest(".cw-whiteboard");
      const canvas = board && board.querySelector(".cw-whiteboard-canvas canvas");
      return Boolean(canvas && canvas.isConnected && canvas.getBoundingClientRect().width > 0);
    };
    const reconnect = () => {
      const kernel = model.widget_manager && model.widget_manager.kernel;
      if (reconnected) return;
      reconnected = true;
      if (!kernel || typeof kernel.reconnect !== "function") {
        console.warn("conferencing: the kernel did not answer the canvas, and this page cannot reconnect it");
        return;
      }
      console.warn("conferencing: the kernel did not answer the canvas; reconnecting its websocket once");
      kernel.reconnect().catch((e) => console.warn("conferencing: reconnect failed", e));
    };
    const tick = () => {
      note();
      if (model.get("acknowledged") || step >= DELAYS_MS.length) return;
      if (step === RECONNECT_AT_STEP) reconnect();
      el.dataset.canvas = String(canvasShown());
      model.send({ type: "nudge", step, canvas: el.dataset.canvas === "true" });
      timer = setTimeout(tick, DELAYS_MS[step++]);
    };
    note();
    model.send({ type: "hello" });
    timer = setTimeout(tick, DELAYS_MS[step++]);
    return () => {
      clearTimeout(timer);
      model.off("change:acknowledged", note);
    };
  },
};
