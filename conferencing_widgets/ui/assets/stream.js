// The message stream: one widget holding a window of rows. Rows arrive in the synced `rows` state when a
// conversation opens; later rows come as custom messages (append/prepend/update) so nothing is resent.
// Bodies are HTML sanitised on the server; names and times are set with textContent.
// Dates in the app's language: S.locale ("pl-PL": 24-hour clock) or the browser's own (English).
function loc() { return S.locale ? [S.locale] : []; }
function clock() { return S.locale ? { hourCycle: "h23" } : {}; }
function fmtTime(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString(loc(), { hour: "2-digit", minute: "2-digit", ...clock() });
}
function fmtDay(iso) {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (d.toDateString() === today.toDateString()) return S.today || "Today";
  if (d.toDateString() === yesterday.toDateString()) return S.yesterday || "Yesterday";
  return d.toLocaleDateString(loc(), { weekday: "short", year: "numeric", month: "short", day: "numeric" });
}

// -- replies, edits, deletions, reactions (issue 13). Python computes what each viewer may do (row.actions);
// every text is set with textContent; only row.html (sanitised on the server) goes through innerHTML.
const QUICK = ["👍", "✅", "👀", "❤️", "🎉", "❓"];

function label(model, key, fallback) {
  const labels = model.get("labels") || {};
  return labels[key] || fallback;
}

function button(cls, text, title) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = text;
  if (title) { b.title = title; b.setAttribute("aria-label", title); }
  return b;
}

function replyQuote(model, row) {
  const q = document.createElement("div");
  q.className = "cw-reply-quote" + (row.reply.deleted ? " cw-reply-deleted" : "");
  q.setAttribute("role", "link");
  q.tabIndex = 0;
  q.dataset.target = String(row.reply.id);
  const who = document.createElement("span");
  who.className = "cw-reply-author";
  who.textContent = row.reply.author;
  const text = document.createElement("span");
  text.className = "cw-reply-text";
  text.textContent = row.reply.text;
  q.append(who, text);
  q.title = label(model, "jump", "Show the original message");
  return q;
}

function reactionsRow(model, row) {
  const box = document.createElement("div");
  box.className = "cw-reactions";
  const mayReact = row.actions.includes("react");
  for (const r of row.reactions) {
    const who = label(model, "reacted", "{emoji} by {who}").replace("{emoji}", r.emoji).replace("{who}", r.who);
    const chip = button("cw-reaction" + (r.mine ? " cw-reaction-mine" : ""), r.emoji + " " + r.count, who);
    chip.dataset.emoji = r.emoji;
    // The accessible name starts with the visible text (axe: label-content-name-mismatch), then says who reacted.
    chip.setAttribute("aria-label", r.emoji + " " + r.count + (who ? " · " + who : ""));
    chip.setAttribute("aria-pressed", r.mine ? "true" : "false");
    chip.disabled = !mayReact;
    box.append(chip);
  }
  return box;
}

function actionsRow(model, row) {
  const box = document.createElement("div");
  box.className = "cw-message-actions";
  const names = { reply: ["↩", "Reply"], edit: ["✎", "Edit"], delete: ["🗑", "Delete"], react: ["☺+", "Add reaction"] };
  for (const action of row.actions) {
    const [icon, fallback] = names[action] || [action, action];
    const b = button("cw-action-" + action, icon, label(model, action, fallback));
    b.dataset.messageAction = action;
    if (action === "react") b.setAttribute("aria-haspopup", "true");
    box.append(b);
  }
  return box;
}

function reactPicker(model, id, close) {
  const pick = document.createElement("div");
  pick.className = "cw-react-picker";
  pick.setAttribute("role", "dialog");
  pick.setAttribute("aria-label", label(model, "react", "Add reaction"));
  const send = (emoji) => { model.send({ type: "message_action", action: "react", id, emoji }); close(); };
  for (const e of QUICK) {
    const b = button("cw-react-choice", e, e);
    b.addEventListener("click", (ev) => { ev.stopPropagation(); send(e); });
    pick.append(b);
  }
  const input = document.createElement("input");
  input.className = "cw-react-input";
  input.maxLength = 32;
  input.placeholder = label(model, "react_other", "other emoji");
  input.setAttribute("aria-label", label(model, "react_other", "other emoji"));
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && input.value.trim()) { ev.preventDefault(); send(input.value.trim()); }
  });
  pick.append(input);
  pick.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); ev.stopPropagation(); close(); } });
  pick.addEventListener("click", (ev) => ev.stopPropagation());
  return pick;
}

function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-stream-root");
  const older = document.createElement("button");
  older.className = "cw-load-older";
  older.type = "button";
  older.textContent = label(model, "older", "Load older messages");
  const list = document.createElement("div");
  list.className = "cw-stream-list";
  list.setAttribute("role", "log");
  list.setAttribute("aria-live", "polite");
  const empty = document.createElement("div");
  empty.className = "cw-stream-empty";
  const jump = document.createElement("button");
  jump.className = "cw-jump-latest";
  jump.type = "button";
  jump.textContent = label(model, "new_messages", "New messages ↓");
  jump.hidden = true;
  const outboxList = document.createElement("div");
  outboxList.className = "cw-outbox-list";
  el.append(older, list, empty, outboxList, jump);
  const stopOutbox = drawOutboxRows(el, outboxList);

  let rows = [];
  const byId = new Map();

  function node(row) {
    const item = document.createElement("div");
    item.className = "cw-message cw-kind-" + row.kind + (row.mine ? " cw-mine" : "") + (row.deleted ? " cw-deleted" : "")
      + (row.mentions_me ? " cw-mentions-me" : "") + (row.kind === "note" ? " cw-note" : "");
    item.dataset.id = String(row.id);
    item.dataset.day = new Date(row.time).toDateString();
    const head = document.createElement("div");
    head.className = "cw-message-head";
    const author = document.createElement("span");
    author.className = "cw-author";
    author.textContent = row.author;
    head.append(author);
    if (row.group) {
      const group = document.createElement("span");
      group.className = "cw-group";
      group.textContent = row.group;
      head.append(group);
    }
    if (row.kind === "note") {
      // An internal note (vendor staff only): the label says so in words, not only by the yellow band.
      const tag = document.createElement("span");
      tag.className = "cw-note-label";
      tag.textContent = label(model, "internal", "Internal");
      head.append(tag);
    }
    const time = document.createElement("time");
    time.dateTime = row.time;
    time.title = new Date(row.time).toLocaleString(loc(), clock());
    time.textContent = fmtTime(row.time);
    head.append(time);
    if (row.edited) {
      const edited = button("cw-edited", label(model, "edited", "edited"), label(model, "versions", "Show earlier versions"));
      edited.removeAttribute("aria-label"); // its text "edited" stays the accessible name; the title says more
      edited.dataset.messageAction = "versions";
      edited.setAttribute("aria-expanded", "false");
      head.append(edited);
    }
    const body = document.createElement("div");
    body.className = "cw-message-body";
    body.innerHTML = row.html;
    if (row.reply) item.append(head, replyQuote(model, row), body); else item.append(head, body);
    if (row.reactions && row.reactions.length) item.append(reactionsRow(model, row));
    if (row.actions && row.actions.length) item.append(actionsRow(model, row));
    return item;
  }

  function divider(iso) {
    const d = document.createElement("div");
    d.className = "cw-day";
    d.textContent = fmtDay(iso);
    return d;
  }

  function redraw() {
    list.replaceChildren();
    byId.clear();
    let lastDay = null;
    const frag = document.createDocumentFragment();
    for (const row of rows) {
      const day = new Date(row.time).toDateString();
      if (day !== lastDay) { frag.append(divider(row.time)); lastDay = day; }
      const n = node(row);
      byId.set(row.id, n);
      frag.append(n);
    }
    list.append(frag);
    refreshChrome();
  }

  function refreshChrome() {
    older.hidden = !model.get("has_older");
    const msg = model.get("empty_text");
    empty.textContent = rows.length ? "" : msg;
    empty.hidden = rows.length > 0;
  }

  function nearBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }
  function toBottom() { list.scrollTop = list.scrollHeight; jump.hidden = true; }
  // When the stream's box changes size (a panel appears above it, the composer grows, a tablet's keyboard opens),
  // a reader who was at the newest message stays there instead of being left pages back.
  let pinned = true;
  list.addEventListener("scroll", () => { pinned = nearBottom(); });
  if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => { if (pinned) toBottom(); }).observe(list);

  function append(newRows) {
    const stick = nearBottom();
    let lastDay = rows.length ? new Date(rows[rows.length - 1].time).toDateString() : null;
    for (const row of newRows) {
      if (byId.has(row.id)) continue;
      const day = new Date(row.time).toDateString();
      if (day !== lastDay) { list.append(divider(row.time)); lastDay = day; }
      const n = node(row);
      byId.set(row.id, n);
      list.append(n);
      rows.push(row);
    }
    refreshChrome();
    if (stick || newRows.some((r) => r.mine)) toBottom(); else jump.hidden = false;
  }

  function prepend(oldRows) {
    const before = list.scrollHeight - list.scrollTop;
    rows = oldRows.filter((r) => !byId.has(r.id)).concat(rows);
    redraw();
    list.scrollTop = list.scrollHeight - before;
  }

  function reset(newRows) { rows = newRows.slice(); redraw(); toBottom(); }

  // A message opened in context (a search hit, a reply's original): scroll to it and highlight it.
  function focusOn(id) {
    const n = byId.get(id);
    if (!n) return;
    for (const old of list.querySelectorAll(".cw-focus")) old.classList.remove("cw-focus");
    n.classList.add("cw-focus");
    n.scrollIntoView({ block: "center" });
    jump.hidden = nearBottom();
  }

  model.on("msg:custom", (msg) => {
    if (msg.type === "append") append(msg.rows);
    else if (msg.type === "prepend") prepend(msg.rows);
    else if (msg.type === "reset") { reset(msg.rows); if (msg.focus) focusOn(msg.focus); }
    else if (msg.type === "highlight") highlight(msg.id);
    else if (msg.type === "versions") showVersions(msg.id, msg.versions);
    else if (msg.type === "update") {
      for (const row of msg.rows) {
        const i = rows.findIndex((r) => r.id === row.id);
        if (i < 0) continue;
        rows[i] = row;
        const fresh = node(row);
        byId.get(row.id).replaceWith(fresh);
        byId.set(row.id, fresh);
      }
    }
  });
  function highlight(id) {
    const n = byId.get(id);
    if (!n) return;
    for (const old of list.querySelectorAll(".cw-highlight")) old.classList.remove("cw-highlight");
    n.classList.add("cw-highlight");
    n.scrollIntoView({ block: "center" });
    n.tabIndex = -1;
    n.focus({ preventScroll: true });
    setTimeout(() => n.classList.remove("cw-highlight"), 4000);
  }

  function showVersions(id, versions) {
    const n = byId.get(id);
    if (!n) return;
    const open = n.querySelector(".cw-versions");
    const toggle = n.querySelector(".cw-edited");
    if (open) { open.remove(); if (toggle) toggle.setAttribute("aria-expanded", "false"); return; }
    const box = document.createElement("ol");
    box.className = "cw-versions";
    if (!versions.length) {
      const li = document.createElement("li");
      li.textContent = label(model, "no_versions", "No earlier versions.");
      box.append(li);
    }
    for (const v of versions) {
      const li = document.createElement("li");
      li.className = "cw-version";
      const when = document.createElement("time");
      when.dateTime = v.time;
      when.textContent = new Date(v.time).toLocaleString(loc(), clock());
      const body = document.createElement("div");
      body.className = "cw-version-body";
      body.innerHTML = v.html; // sanitised on the server like every body
      li.append(when, body);
      box.append(li);
    }
    n.querySelector(".cw-message-body").after(box);
    if (toggle) toggle.setAttribute("aria-expanded", "true");
  }

  // Message actions: reply, edit, delete, the reaction picker, reaction chips and reply quotes.
  let picker = null;
  function closePicker(focusBack) {
    if (!picker) return;
    const opener = picker.opener;
    picker.remove();
    picker = null;
    if (focusBack && opener && opener.isConnected) opener.focus();
  }
  function messageAction(ev) {
    const item = ev.target.closest(".cw-message");
    if (!item || !list.contains(item)) return false;
    const id = Number(item.dataset.id);
    const quote = ev.target.closest(".cw-reply-quote");
    if (quote) { model.send({ type: "message_action", action: "jump", id: Number(quote.dataset.target) }); return true; }
    const chip = ev.target.closest(".cw-reaction");
    if (chip) { model.send({ type: "message_action", action: "react", id, emoji: chip.dataset.emoji }); return true; }
    const b = ev.target.closest("[data-message-action]");
    if (!b) return false;
    const action = b.dataset.messageAction;
    if (action === "react") {
      const again = picker && picker.opener === b;
      closePicker(false);
      if (again) return true;
      picker = reactPicker(model, id, () => closePicker(true));
      picker.opener = b;
      b.parentElement.after(picker);
      picker.querySelector("button").focus();
      return true;
    }
    model.send({ type: "message_action", action, id });
    if (action === "reply") item.dispatchEvent(new CustomEvent("cw-reply", { bubbles: true, detail: replyIntent(item, id) }));
    return true;
  }
  // What the composer needs to enter reply mode at once, before Python's answer: a reply typed fast is a reply.
  function replyIntent(item, id) {
    const row = rows.find((r) => r.id === id) || {};
    const body = item.querySelector(".cw-message-body");
    const first = ((body && body.innerText) || "").split("\n").find((line) => line.trim()) || "";
    return { id, author: row.author || "", text: first.trim().slice(0, 100), note: row.kind === "note" };
  }
  list.addEventListener("click", (ev) => { if (messageAction(ev)) ev.preventDefault(); });
  list.addEventListener("keydown", (ev) => {
    if ((ev.key === "Enter" || ev.key === " ") && ev.target.classList && ev.target.classList.contains("cw-reply-quote")) {
      ev.preventDefault();
      messageAction(ev);
    }
  });

  model.on("change:rows", () => reset(model.get("rows")));
  model.on("change:has_older", refreshChrome);
  model.on("change:empty_text", refreshChrome);
  older.addEventListener("click", () => { older.disabled = true; model.send({ type: "older" }); setTimeout(() => { older.disabled = false; }, 500); });
  jump.addEventListener("click", toBottom);
  list.addEventListener("scroll", () => { if (nearBottom()) jump.hidden = true; });
  // Buttons that features put into rows (Join, Open board, ...) carry data-action; Python checks rights.
  list.addEventListener("click", (ev) => {
    const target = ev.target.closest("[data-action]");
    if (!target || !list.contains(target)) return;
    ev.preventDefault();
    model.send({ type: "action", action: target.dataset.action, id: Number(target.dataset.ref) });
  });

  reset(model.get("rows"));
  // A view that connects late tells Python what it has; Python resends the window if that is stale.
  const last = rows.length ? rows[rows.length - 1].id : 0;
  model.send({ type: "hello", first: rows.length ? rows[0].id : 0, last, count: rows.length });
  return stopOutbox;
}
export default { render };
