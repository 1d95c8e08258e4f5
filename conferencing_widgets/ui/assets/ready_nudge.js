// Sends a few small messages to the kernel after the page renders, until the kernel says the canvas is ready.
// In Voila, the canvas's own "client ready" message, sent while the kernel is still finishing the notebook, is at
// times only handled when the next message from the page arrives (a mouse move, or a reconnect 30 s later);
// these nudges are that next message. The kernel ignores them.
const DELAYS_MS = [300, 700, 1500, 3000, 5000, 8000, 13000];

export default {
  render({ model, el }) {
    el.style.display = "none";
    let step = 0;
    let timer = null;
    const tick = () => {
      if (model.get("acknowledged") || step >= DELAYS_MS.length) return;
      model.send({ type: "nudge", step });
      timer = setTimeout(tick, DELAYS_MS[step++]);
    };
    timer = setTimeout(tick, DELAYS_MS[step++]);
    return () => clearTimeout(timer);
  },
};
