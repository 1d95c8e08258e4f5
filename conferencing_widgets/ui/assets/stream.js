// The message stream: one widget holding a window of rows. Rows arrive in the synced `rows` state when a
// conversation opens; later rows come as custom messages (append/prepend/update) so nothing is resent.
// Bodies are HTML sanitised on the server; names and times are set with textContent.
function fmtTime(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
function fmtDay(iso) {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (d.toDateString() === today.toDateString()) return "Today";
  if (d.toDateString() === yesterday.toDateString()) return "Yesterday";
  return d.toLocaleDateString([], { weekday: "short", year: "numeric", month: "short", day: "numeric" });
}

function render({ model, el }) {
  el.classList.add("cw-stream-root");
  const older = document.createElement("button");
  older.className = "cw-load-older";
  older.type = "button";
  older.textContent = "Load older messages";
  const list = document.createElement("div");
  list.className = "cw-stream-list";
  list.setAttribute("role", "log");
  list.setAttribute("aria-live", "polite");
  const empty = document.createElement("div");
  empty.className = "cw-stream-empty";
  const jump = document.createElement("button");
  jump.className = "cw-jump-latest";
  jump.type = "button";
  jump.textContent = "New messages ↓";
  jump.hidden = true;
  el.append(older, list, empty, jump);

  let rows = [];
  const byId = new Map();

  function node(row) {
    const item = document.createElement("div");
    item.className = "cw-message cw-kind-" + row.kind + (row.mine ? " cw-mine" : "") + (row.mentions_me ? " cw-mentions-me" : "");
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
    const time = document.createElement("time");
    time.dateTime = row.time;
    time.title = new Date(row.time).toLocaleString();
    time.textContent = fmtTime(row.time);
    head.append(time);
    const body = document.createElement("div");
    body.className = "cw-message-body";
    body.innerHTML = row.html;
    item.append(head, body);
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
}
export default { render };
