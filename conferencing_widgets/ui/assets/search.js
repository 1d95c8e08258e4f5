// Message search: the box (Enter searches, Esc clears), filter shortcuts, and the results in this ONE widget.
// Snippets are HTML escaped on the server with only <mark> added; names and times are set with textContent.
// Dates in the app's language: S.locale ("pl-PL": 24-hour clock) or the browser's own (English).
function fmtWhen(iso) {
  const d = new Date(iso);
  const loc = S.locale ? [S.locale] : [];
  return d.toLocaleDateString(loc, { month: "short", day: "numeric" }) + " " +
    d.toLocaleTimeString(loc, { hour: "2-digit", minute: "2-digit", ...(S.locale ? { hourCycle: "h23" } : {}) });
}

function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-search-root");
  const form = document.createElement("div");
  form.className = "cw-search-form";
  const input = document.createElement("input");
  input.type = "search";
  input.className = "cw-search-input";
  input.setAttribute("aria-label", S.search_label || "Search messages");
  input.maxLength = 500;
  const go = document.createElement("button");
  go.type = "button";
  go.className = "cw-search-go";
  go.textContent = S.search || "Search";
  form.append(input, go);
  const filters = document.createElement("div");
  filters.className = "cw-search-filters";
  for (const token of ["is:mention", "has:file", "has:whiteboard", "from:", "case:", "after:"]) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "cw-search-filter";
    b.textContent = token;
    b.addEventListener("click", () => {
      input.value = (input.value.trim() + " " + token).trim();
      input.focus();
      if (!token.endsWith(":")) submit();
    });
    filters.append(b);
  }
  const hint = document.createElement("div");
  hint.className = "cw-search-hint";
  const error = document.createElement("div");
  error.className = "cw-error cw-search-error";
  error.setAttribute("role", "alert");
  const status = document.createElement("div");
  status.className = "cw-search-status";
  status.setAttribute("aria-live", "polite");
  const list = document.createElement("div");
  list.className = "cw-search-results";
  list.setAttribute("role", "list");
  const more = document.createElement("button");
  more.type = "button";
  more.className = "cw-search-more";
  more.textContent = S.more || "More results";
  el.append(form, filters, hint, error, status, list, more);

  function submit() { model.send({ type: "search", text: input.value }); }

  function text(tag, cls, value) {
    const n = document.createElement(tag);
    n.className = cls;
    n.textContent = value;
    return n;
  }

  function draw() {
    input.placeholder = model.get("placeholder");
    hint.textContent = model.get("hint");
    error.textContent = model.get("error");
    error.hidden = !model.get("error");
    const results = model.get("results");
    list.replaceChildren();
    for (const r of results) {
      const item = document.createElement("div");
      item.className = "cw-search-result";
      item.setAttribute("role", "listitem");
      item.tabIndex = 0;
      item.dataset.conversation = String(r.conversation_id);
      item.dataset.message = String(r.message_id);
      const head = document.createElement("div");
      head.className = "cw-search-result-head";
      head.append(text("span", "cw-search-result-conversation", r.conversation),
        text("span", "cw-search-result-author", r.author), text("time", "cw-search-result-time", fmtWhen(r.time)));
      const snip = document.createElement("div");
      snip.className = "cw-search-snippet";
      snip.innerHTML = r.snippet; // escaped on the server; only <mark> is markup
      item.append(head, snip);
      list.append(item);
    }
    const searched = model.get("searched");
    status.textContent = searched ? (results.length ? "" : (S.none || "No messages found.")) : "";
    more.hidden = !model.get("has_more");
    el.classList.toggle("cw-search-open", searched || !!model.get("error"));
    el.dataset.serial = String(model.get("serial"));
  }

  function open(ev) {
    const item = ev.target.closest(".cw-search-result");
    if (!item) return;
    model.send({ type: "open", conversation_id: Number(item.dataset.conversation), message_id: Number(item.dataset.message) });
  }
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); submit(); }
    else if (ev.key === "Escape") { input.value = ""; model.send({ type: "clear" }); }
  });
  go.addEventListener("click", submit);
  more.addEventListener("click", () => model.send({ type: "search", text: model.get("query"), more: true }));
  list.addEventListener("click", open);
  list.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); open(ev); } });
  for (const name of ["results", "has_more", "searched", "error", "placeholder", "hint", "serial"]) model.on("change:" + name, draw);
  draw();
}
export default { render };
