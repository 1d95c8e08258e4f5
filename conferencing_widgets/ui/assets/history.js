// One section of the history: a window of conversation tiles in one widget (no widget per tile).
// Dates in the app's language: S.locale ("pl-PL": 24-hour clock) or the browser's own (English).
function loc() { return S.locale ? [S.locale] : []; }
function fmtWhen(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString(loc(), { hour: "2-digit", minute: "2-digit", ...(S.locale ? { hourCycle: "h23" } : {}) });
  return d.toLocaleDateString(loc(), { month: "short", day: "numeric" });
}

// Case chats: the status chip, the whose-turn badge and a clock highlight (fields set by the cases feature).
function caseBadges(tile, t, text) {
  if (!t.status) return;
  const row = document.createElement("div");
  row.className = "cw-tile-badges";
  const chip = text("span", "cw-case-status cw-status-" + t.status, t.status_label);
  row.append(chip);
  if (t.turn_label) row.append(text("span", "cw-turn cw-turn-" + (t.turn_mine ? "mine" : "theirs"), t.turn_label));
  if (t.clock_label) row.append(text("span", "cw-clock cw-clock-" + t.alert, t.clock_label));
  if (t.alert === "near" || t.alert === "over") tile.classList.add("cw-clock-" + t.alert);
  tile.append(row);
}

function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-history-root");
  const heading = document.createElement("div");
  heading.className = "cw-section-title";
  const list = document.createElement("div");
  list.className = "cw-tiles";
  list.setAttribute("role", "list");
  const more = document.createElement("button");
  more.className = "cw-load-more";
  more.type = "button";
  more.textContent = S.more || "Show more";
  el.append(heading, list, more);

  function text(tag, cls, value) {
    const n = document.createElement(tag);
    n.className = cls;
    n.textContent = value;
    return n;
  }

  function draw() {
    heading.textContent = model.get("heading");
    const selected = model.get("selected");
    const tiles = model.get("tiles");
    list.replaceChildren();
    for (const t of tiles) {
      const tile = document.createElement("div");
      tile.className = "cw-tile" + (t.id === selected ? " cw-selected" : "") + (t.unread ? " cw-has-unread" : "");
      tile.setAttribute("role", "listitem");
      tile.tabIndex = 0;
      tile.dataset.id = String(t.id);
      const top = document.createElement("div");
      top.className = "cw-tile-top";
      top.append(text("span", "cw-tile-title", t.title), text("span", "cw-tile-when", fmtWhen(t.when)));
      if (t.mentions) {
        const badge = text("span", "cw-mention-badge", "@" + (t.mentions >= 100 ? "99+" : String(t.mentions)));
        badge.title = t.mentions_title || (t.mentions === 1 ? "You were mentioned" : "You were mentioned " + t.mentions + " times");
        badge.setAttribute("aria-label", badge.title);
        top.append(badge);
      }
      if (t.unread) top.append(text("span", "cw-unread", t.unread >= 100 ? "99+" : String(t.unread)));
      tile.append(top);
      if (t.case) tile.append(text("div", "cw-tile-case", t.case));
      caseBadges(tile, t, text);
      const last = document.createElement("div");
      last.className = "cw-tile-last";
      if (t.last_author) last.append(text("span", "cw-tile-author", t.last_author + ": "));
      last.append(text("span", "cw-tile-preview", t.preview || S.no_messages || "No messages yet"));
      tile.append(last);
      list.append(tile);
    }
    if (!tiles.length) list.append(text("div", "cw-empty", model.get("empty_text")));
    more.hidden = !model.get("has_more");
  }

  function open(ev) {
    const tile = ev.target.closest(".cw-tile");
    if (tile) model.send({ type: "open", id: Number(tile.dataset.id) });
  }
  list.addEventListener("click", open);
  list.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(ev); } });
  more.addEventListener("click", () => model.send({ type: "more" }));
  for (const name of ["tiles", "selected", "heading", "has_more", "empty_text"]) model.on("change:" + name, draw);
  draw();
}
export default { render };
