// The message box: Enter sends, Shift+Enter makes a new line. The text stays until Python confirms the send,
// so a failed send loses nothing; a retry of the same text reuses its client id, so it never posts twice.
function newId() {
  return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");
}

// -- edit and reply mode (issue 13): the bar above the box, Esc to cancel, Up arrow in an empty box to edit
// the last own message. Kept in these functions so other composer additions stay apart.
function modeBar(model) {
  const bar = document.createElement("div");
  bar.className = "cw-composer-mode";
  const text = document.createElement("span");
  text.className = "cw-composer-mode-text";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "cw-composer-cancel";
  cancel.addEventListener("click", () => model.send({ type: "cancel" }));
  bar.append(text, cancel);
  function sync() {
    const mode = model.get("mode");
    bar.hidden = !mode;
    bar.dataset.mode = mode;
    text.textContent = model.get("mode_text");
    cancel.textContent = "✕";
    cancel.title = model.get("mode_cancel") + " (Esc)";
    cancel.setAttribute("aria-label", model.get("mode_cancel"));
  }
  for (const name of ["mode", "mode_text", "mode_cancel"]) model.on("change:" + name, sync);
  sync();
  return bar;
}

function modeKeys(model, box, ev) {
  // Returns true when the key was handled here.
  if (ev.key === "Escape" && model.get("mode")) { ev.preventDefault(); model.send({ type: "cancel" }); return true; }
  if (ev.key === "ArrowUp" && !box.value && !model.get("mode") && !ev.shiftKey) {
    ev.preventDefault();
    model.send({ type: "edit_last" });
    return true;
  }
  return false;
}

function focusEnd(box) {
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}

// -- @mention autocomplete: typing "@" asks Python for matching members; arrows move, Enter/Tab picks, Esc closes.
// Everything here is self-contained: mentionAutocomplete(...) returns {handleKey(ev) -> bool, close()}.
const MENTION_BEFORE_CARET = /(?:^|[^\w@.])@([A-Za-z0-9._-]{0,64})$/;

function mentionAutocomplete(model, box, el) {
  const list = document.createElement("ul");
  list.className = "cw-mention-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", tr("Mention a member"));
  list.id = "cw-mention-list-" + Math.random().toString(36).slice(2);
  list.hidden = true;
  el.append(list);
  // A textarea (role textbox) may carry aria-autocomplete/controls/activedescendant, not aria-expanded (axe).
  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-controls", list.id);
  let items = [];
  let active = 0;
  let seq = 0;
  let query = null; // {start, prefix} of the "@prefix" being completed

  function close() {
    list.hidden = true;
    items = [];
    query = null;
    box.removeAttribute("aria-activedescendant");
  }

  function draw() {
    list.replaceChildren();
    items.forEach((it, i) => {
      const li = document.createElement("li");
      li.className = "cw-mention-option" + (i === active ? " cw-active" : "");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === active ? "true" : "false");
      const name = document.createElement("span");
      name.className = "cw-mention-name";
      name.textContent = it.name;
      const login = document.createElement("span");
      login.className = "cw-mention-login";
      login.textContent = "@" + it.login;
      li.append(name, login);
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pick(i); });
      list.append(li);
    });
    list.hidden = items.length === 0;
    if (items.length) box.setAttribute("aria-activedescendant", list.id + "-" + active);
  }

  function pick(i) {
    const it = items[i];
    if (!it || !query) return close();
    const before = box.value.slice(0, query.start);
    const after = box.value.slice(box.selectionStart);
    const insert = "@" + it.login + " ";
    box.value = before + insert + after;
    const caret = before.length + insert.length;
    box.setSelectionRange(caret, caret);
    close();
    box.focus();
  }

  function onInput() {
    const upto = box.value.slice(0, box.selectionStart);
    const m = MENTION_BEFORE_CARET.exec(upto);
    if (!m || model.get("disabled")) return close();
    query = { start: upto.length - m[1].length - 1, prefix: m[1] };
    seq += 1;
    model.send({ type: "mention_query", prefix: m[1], seq });
  }

  model.on("msg:custom", (msg) => {
    if (msg.type !== "mention_candidates" || !query || msg.seq !== seq) return;
    items = Array.isArray(msg.items) ? msg.items : [];
    active = 0;
    draw();
  });
  box.addEventListener("input", onInput);
  box.addEventListener("blur", () => setTimeout(close, 150));

  function handleKey(ev) {
    if (list.hidden || !items.length) return false;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      active = (active + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      draw();
    } else if (ev.key === "Enter" || ev.key === "Tab") {
      pick(active);
    } else if (ev.key === "Escape") {
      close();
    } else {
      return false;
    }
    ev.preventDefault();
    ev.stopPropagation();
    return true;
  }
  return { handleKey, close };
}

// -- typing and drafts (issue 13): "typing" at most every 2 s while the box has text, "typing off" when it
// empties; the text is saved as a draft 1 s after typing stops, under the conversation it was typed in
// (draft_key), and flushed at once when the conversation changes or the page is hidden.
const TYPING_EVERY_MS = 2000;
const DRAFT_AFTER_MS = 1000;

function typingAndDrafts(model, box) {
  let lastTyping = 0;
  let typing = false;
  let timer = null;
  let pending = null; // {key, text} not yet sent

  function flush() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (pending && pending.key) model.send({ type: "draft", key: pending.key, text: pending.text });
    pending = null;
  }

  function cancel() {
    if (timer) { clearTimeout(timer); timer = null; }
    pending = null;
    typing = false;
    lastTyping = 0;
  }

  box.addEventListener("input", () => {
    if (model.get("disabled") || model.get("mode") === "edit") return;
    const now = Date.now();
    if (box.value.trim()) {
      if (!typing || now - lastTyping >= TYPING_EVERY_MS) { model.send({ type: "typing", active: true }); lastTyping = now; }
      typing = true;
    } else if (typing) {
      model.send({ type: "typing", active: false });
      typing = false;
    }
    pending = { key: model.get("draft_key"), text: box.value };
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, DRAFT_AFTER_MS);
  });
  model.on("change:draft_key", () => {
    flush(); // the text typed so far belongs to the conversation being left
    if (typing) { model.send({ type: "typing", active: false }); typing = false; }
    box.value = model.get("value");
  });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(); });
  window.addEventListener("pagehide", flush);
  return { flush, cancel };
}

// -- paste or drop a file into the composer (issue 13): the files go to the upload widget of the same app
// ("cw-upload-files", see upload.js), which uploads and posts them as chosen files are; its progress comes
// back as "cw-upload-progress" and is shown in a status line under the box.
function pasteAndDrop(model, box, el, labels) {
  const status = document.createElement("div");
  status.className = "cw-composer-upload";
  status.setAttribute("role", "status");
  status.hidden = true;
  const name = document.createElement("span");
  const bar = document.createElement("progress");
  bar.className = "cw-composer-upload-progress";
  status.append(name, bar);
  el.append(status);
  const mine = new Set(); // names handed over from this composer

  function hand(files) {
    if (!files.length || model.get("disabled")) return false;
    const detail = { files, root: el.closest(".cw-app"), handled: false };
    window.dispatchEvent(new CustomEvent("cw-upload-files", { detail }));
    if (!detail.handled) { model.set("error", labels.unavailable); model.save_changes(); return true; }
    for (const f of files) mine.add(f.name);
    return true;
  }
  box.addEventListener("paste", (ev) => {
    const files = Array.from((ev.clipboardData && ev.clipboardData.files) || []);
    if (files.length && hand(files)) ev.preventDefault(); // a pasted file is uploaded, never pasted as text
  });
  el.addEventListener("dragover", (ev) => {
    if (ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes("Files")) ev.preventDefault();
  });
  el.addEventListener("drop", (ev) => {
    const files = Array.from((ev.dataTransfer && ev.dataTransfer.files) || []);
    if (files.length) { ev.preventDefault(); hand(files); }
  });
  window.addEventListener("cw-upload-progress", (ev) => {
    const d = ev.detail || {};
    if (d.root !== el.closest(".cw-app")) return;
    const items = (d.items || []).filter((i) => mine.has(i.name));
    const item = items[items.length - 1];
    if (!item) { status.hidden = true; return; }
    status.hidden = false;
    status.dataset.status = item.status;
    bar.max = Math.max(1, item.size);
    bar.value = item.acked;
    const pct = Math.floor((100 * item.acked) / Math.max(1, item.size));
    name.textContent = item.status === "done" ? labels.done.replace("{name}", item.name)
      : item.message ? item.message : labels.uploading.replace("{name}", item.name).replace("{pct}", String(pct));
  });
}

function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-composer-root");
  const box = document.createElement("textarea");
  box.className = "cw-composer-input";
  box.rows = 2;
  box.setAttribute("aria-label", tr("Message"));
  const send = document.createElement("button");
  send.type = "button";
  send.className = "cw-send";
  send.textContent = tr("Send");
  const hint = document.createElement("div");
  hint.className = "cw-composer-hint";
  const error = document.createElement("div");
  error.className = "cw-error cw-composer-error";
  error.setAttribute("role", "alert");
  const bar = modeBar(model);
  el.append(bar, box, send, hint, error);

  let pending = false;
  let clientId = null;
  let sentText = null;
  let sentExtra = {};

  function sync() {
    const disabled = model.get("disabled");
    box.disabled = disabled || pending;
    send.disabled = disabled || pending;
    box.placeholder = model.get("placeholder");
    hint.textContent = disabled ? "" : tr("Enter to send · Shift+Enter for a new line");
    error.textContent = model.get("error");
    error.hidden = !model.get("error");
  }

  // Python sets `value` only to put text into the box (a draft, an edit, code); other state changes (enabled,
  // placeholder) must never overwrite what the user has typed meanwhile.
  function applyValue() {
    if (!pending && model.get("value") !== box.value) box.value = model.get("value");
  }

  function submit() {
    const text = box.value;
    if (pending || model.get("disabled")) return;
    if (!text.trim()) { model.set("error", tr("The message is empty. Type something before sending.")); model.save_changes(); return; }
    if (text !== sentText) { clientId = newId(); sentText = text; }
    if (model.get("mode") !== "edit") drafts.cancel(); // posting clears the draft on the server
    sentExtra = outboxExtra();
    if (!pageOnline(model)) { toOutbox(text, clientId, sentExtra); return; } // offline: outbox.js
    pending = true;
    sync();
    // The mode the user saw at Enter goes along: that is what the send means, whatever reached Python meanwhile.
    const mode = model.get("mode");
    model.send({ type: "send", text, client_id: clientId, mode, target_id: mode ? model.get("target_id") : 0 });
  }

  // The stream's Reply rings here at once (stream.js), so the bar shows and the next send is a reply without
  // waiting for Python, which confirms with its own text. An edit in progress keeps the box.
  function onReply(ev) {
    const app = el.closest(".cw-app");
    if (!app || !app.contains(ev.target) || model.get("disabled") || model.get("mode") === "edit") return;
    const d = ev.detail || {};
    const quote = tr("Replying to {name}").replace("{name}", d.author || "");
    model.set({ mode: "reply", target_id: d.id, mode_text: d.text ? quote + ": " + d.text : quote, error: "" });
    if (d.note) model.set("note", true); // a reply to a note is a note too
    model.save_changes();
    focusEnd(box);
  }
  document.addEventListener("cw-reply", onReply);

  // What the send is besides its text: an internal note (the toggle, linked here in the browser), a reply or an
  // edit (the mode bar). The outbox keeps it with the text, so a note typed offline is still a note when sent.
  function outboxExtra() {
    const mode = model.get("mode");
    const target = model.get("target_id");
    return { note: Boolean(model.get("note")), reply_to: mode === "reply" && target ? target : undefined, edit_of: mode === "edit" && target ? target : undefined };
  }
  // A send the kernel cannot take now goes to the outbox; the box is free for the next one at once, out of any
  // edit or reply mode and with the note toggle off, as after a send that went through.
  const queue = outbox(model, el);
  function toOutbox(text, id, extra) {
    queue.add(text, id, extra);
    if (model.get("mode") || model.get("note")) {
      model.set({ mode: "", target_id: 0, mode_text: "", note: false });
      model.save_changes();
    }
    pending = false; box.value = ""; sentText = null; clientId = null; mentions.close(); sync(); box.focus();
  }
  // The connection dropped while a send waited for Python's answer: the outbox takes it, with its client id.
  window.addEventListener("cw-connection", (ev) => {
    if ((ev.detail || {}).state !== "online" && pending && sentText) toOutbox(sentText, clientId, sentExtra);
  }, { signal: queue.signal });

  const mentions = mentionAutocomplete(model, box, el);
  const drafts = typingAndDrafts(model, box);
  pasteAndDrop(model, box, el, model.get("paste_labels"));
  box.addEventListener("keydown", (ev) => {
    if (mentions.handleKey(ev)) return; // the open mention list takes arrows, Enter, Tab and Esc first
    if (modeKeys(model, box, ev)) return;
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
  });
  send.addEventListener("click", submit);
  model.on("msg:custom", (msg) => {
    // An answer for a send the outbox took over meanwhile is not about what the box holds now.
    if ((msg.type === "sent" || msg.type === "failed") && msg.client_id && msg.client_id !== clientId) return;
    if (msg.type === "sent") { pending = false; box.value = ""; sentText = null; clientId = null; mentions.close(); sync(); box.focus(); }
    else if (msg.type === "failed") { pending = false; sync(); box.focus(); }
    else if (msg.type === "mode") { sync(); focusEnd(box); }
  });
  for (const name of ["disabled", "placeholder", "error"]) model.on("change:" + name, sync);
  model.on("change:value", applyValue);
  sync();
  applyValue();
  return () => { queue.dispose(); document.removeEventListener("cw-reply", onReply); };
}
export default { render };
