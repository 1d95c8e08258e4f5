// The outbox rows (issue 16), loaded in front of stream.js (one view; MessageStreamWidget joins the two files).
// -- the outbox (issue 16): messages not yet sent, drawn under the list from the composer's "cw-outbox" event.
// Their text is the user's own, set with textContent; Retry and Discard go back as "cw-outbox-action".
function drawOutboxRows(el, box) {
  const root = () => el.closest(".cw-app");
  const gone = new AbortController();
  window.addEventListener("cw-outbox", (ev) => {
    const d = ev.detail || {};
    if (!d.root || d.root !== root()) return;
    const L = d.labels || {};
    box.replaceChildren();
    for (const e of d.entries || []) {
      const item = document.createElement("div");
      item.className = "cw-outbox cw-mine" + (e.error ? " cw-outbox-failed" : "") + (e.note ? " cw-outbox-note" : "");
      item.dataset.clientId = e.client_id;
      const status = document.createElement("div");
      status.className = "cw-outbox-status";
      status.setAttribute("role", e.error ? "alert" : "status");
      const tag = e.note ? L.note : e.reply_to ? L.reply : "";
      if (tag) {
        const chip = document.createElement("span");
        chip.className = "cw-outbox-tag";
        chip.textContent = tag;
        status.append(chip, " ");
      }
      status.append(e.error || (e.edit_of ? L.saving : L.sending) || "Sending…");
      const body = document.createElement("div");
      body.className = "cw-outbox-body";
      body.textContent = e.text;
      item.append(status, body);
      const actions = document.createElement("div");
      actions.className = "cw-outbox-actions";
      if (e.error) actions.append(button("cw-outbox-retry", L.retry || "Retry"));
      actions.append(button("cw-outbox-discard", L.discard || "Discard"));
      for (const b of actions.children) b.dataset.outboxAction = b.className.replace("cw-outbox-", "");
      item.append(actions);
      box.append(item);
    }
  }, { signal: gone.signal });
  box.addEventListener("click", (ev) => {
    const b = ev.target.closest("[data-outbox-action]");
    const item = b && b.closest(".cw-outbox");
    if (!item) return;
    const detail = { root: root(), client_id: item.dataset.clientId, action: b.dataset.outboxAction };
    window.dispatchEvent(new CustomEvent("cw-outbox-action", { detail }));
  });
  // The composer may have published before this view existed: ask again once attached.
  (function ask(tries) {
    const r = root();
    if (r) window.dispatchEvent(new CustomEvent("cw-outbox-request", { detail: { root: r } }));
    else if (tries < 50 && !gone.signal.aborted) setTimeout(() => ask(tries + 1), 200);
  })(0);
  return () => gone.abort();
}
