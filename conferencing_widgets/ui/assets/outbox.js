// The outbox (issue 16), loaded in front of composer.js (one view; ComposerWidget joins the two files).
// A new message sent while the page cannot reach its kernel is kept in localStorage under the signed-in user's
// scope (`outbox_scope`: a hash of the login from Python; never the token), shown at once as "Sending…" in the
// stream of its conversation, and sent with its client id once the page is back. Python posts it idempotently
// (one message per author and client id), so a resend after a lost answer or a reload never posts twice.
// Entries: {client_id, conversation_id, text, created, note?, reply_to?, edit_of?, error?}: a new message, a reply or
// an edit of one's own message, any of them an internal note. The stream view draws them: it gets the window
// event "cw-outbox" ({root, entries, labels}) and answers Retry/Discard with "cw-outbox-action".
const OUTBOX_RESEND_MS = 8000; // no answer by then (a lost wake-up, a dropped socket): send again, same client id

function pageOnline(model) {
  if (!navigator.onLine) return false;
  if (window.cwConnectionState && window.cwConnectionState !== "online") return false;
  const k = model.widget_manager && model.widget_manager.kernel;
  return !k || (k.connectionStatus === "connected" && k.status !== "dead");
}

function outboxStorage(scope) {
  const key = "cw-outbox:" + scope;
  return {
    key,
    load() {
      if (!scope) return [];
      try {
        const v = JSON.parse(window.localStorage.getItem(key) || "[]");
        return Array.isArray(v) ? v.filter((e) => e && typeof e.client_id === "string" && typeof e.text === "string") : [];
      } catch (e) {
        return [];
      }
    },
    save(list) {
      if (!scope) return;
      try {
        if (list.length) window.localStorage.setItem(key, JSON.stringify(list));
        else window.localStorage.removeItem(key);
      } catch (e) {
        console.warn("conferencing: the outbox could not be saved in this browser", e);
      }
    },
  };
}

function outbox(model, el) {
  const storage = outboxStorage(model.get("outbox_scope"));
  const inFlight = new Map(); // client_id -> when it was last handed to the kernel
  let timer = null;
  const root = () => el.closest(".cw-app");
  const gone = new AbortController(); // the view is removed (a re-render after a reconnect): stop listening
  const on = { signal: gone.signal };

  function publish(tries = 0) {
    if (gone.signal.aborted) return;
    const r = root();
    if (!r) { if (tries < 50) setTimeout(() => publish(tries + 1), 200); return; }
    const open = model.get("draft_key");
    const entries = storage.load().filter((e) => e.conversation_id === open);
    const labels = {
      sending: tr("Sending…"), saving: tr("Saving your edit…"), note: tr("Internal note"), reply: tr("Your reply"),
      retry: tr("Retry"), discard: tr("Discard"),
    };
    window.dispatchEvent(new CustomEvent("cw-outbox", { detail: { root: r, entries, labels } }));
  }

  function change(fn) { storage.save(fn(storage.load())); publish(); }

  function flush() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (gone.signal.aborted) return;
    const waiting = storage.load().filter((e) => !e.error);
    if (!waiting.length || !pageOnline(model)) return;
    const now = Date.now();
    for (const e of waiting) {
      const last = inFlight.get(e.client_id);
      if (last && now - last < OUTBOX_RESEND_MS) continue;
      inFlight.set(e.client_id, now);
      model.send({ type: "outbox", client_id: e.client_id, conversation_id: e.conversation_id, text: e.text, note: Boolean(e.note), reply_to: e.reply_to || null, edit_of: e.edit_of || null });
    }
    timer = setTimeout(flush, OUTBOX_RESEND_MS);
  }

  function add(text, clientId, extra) {
    const { note, reply_to, edit_of } = extra || {};
    const entry = { client_id: clientId, conversation_id: model.get("draft_key"), text, created: new Date().toISOString() };
    if (note) entry.note = true;
    if (Number.isInteger(reply_to)) entry.reply_to = reply_to;
    if (Number.isInteger(edit_of)) entry.edit_of = edit_of;
    change((list) => list.filter((e) => e.client_id !== clientId).concat([entry]));
    flush();
  }

  function answered(msg) {
    if (msg.type !== "outbox_result" || typeof msg.client_id !== "string") return;
    inFlight.delete(msg.client_id);
    if (msg.ok) change((list) => list.filter((e) => e.client_id !== msg.client_id));
    else change((list) => list.map((e) => (e.client_id === msg.client_id ? { ...e, error: msg.error || "?" } : e)));
  }
  model.on("msg:custom", answered);
  window.addEventListener("cw-outbox-action", (ev) => {
    const d = ev.detail || {};
    if (d.root !== root()) return;
    if (d.action === "discard") change((list) => list.filter((e) => e.client_id !== d.client_id));
    if (d.action === "retry") {
      change((list) => list.map((e) => (e.client_id === d.client_id ? { ...e, error: undefined } : e)));
      inFlight.delete(d.client_id);
      flush();
    }
  }, on);
  window.addEventListener("cw-outbox-request", (ev) => { if ((ev.detail || {}).root === root()) publish(); }, on);
  // Back online: the connection view's event, the browser's, or the kernel connection itself.
  window.addEventListener("cw-connection", (ev) => { if ((ev.detail || {}).state === "online") flush(); }, on);
  window.addEventListener("online", () => setTimeout(flush, 0), on);
  const k = model.widget_manager && model.widget_manager.kernel;
  const kernelChanged = () => setTimeout(flush, 0);
  if (k && k.connectionStatusChanged) k.connectionStatusChanged.connect(kernelChanged);
  // Another tab of the same user changed the outbox.
  window.addEventListener("storage", (ev) => { if (ev.key === storage.key) publish(); }, on);
  const draftChanged = () => publish();
  model.on("change:draft_key", draftChanged);
  publish();
  flush();
  function dispose() {
    gone.abort();
    if (timer) clearTimeout(timer);
    if (k && k.connectionStatusChanged) k.connectionStatusChanged.disconnect(kernelChanged);
    model.off("change:draft_key", draftChanged);
    model.off("msg:custom", answered);
  }
  return { add, flush, publish, dispose, signal: gone.signal };
}
