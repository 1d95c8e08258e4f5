// Page-level accessibility for the app: landmark roles and labels on the areas, F6 / Ctrl+F6 moving between
// them, the new-conversation dialog trapping focus (Esc closes it), and the browser's time zone for Python.
// ipywidgets cannot set ARIA attributes on their own elements, so this hidden widget sets them once they exist.

const AREA_ORDER = [".cw-history", ".cw-messages", ".cw-details"];

function apply(root, labels) {
  let missing = 0;
  for (const [selector, [role, name]] of Object.entries(labels)) {
    const nodes = root.querySelectorAll(selector);
    if (!nodes.length) missing += 1;
    for (const n of nodes) {
      if (role) n.setAttribute("role", role);
      n.setAttribute("aria-label", name);
      // F6 focuses the areas. Details may hold nothing focusable yet scroll (a case's facts and clocks), so it is
      // also a Tab stop: keyboard users can scroll it (axe: scrollable-region-focusable).
      if (AREA_ORDER.includes(selector) && !n.hasAttribute("tabindex")) n.tabIndex = selector === ".cw-details" ? 0 : -1;
    }
  }
  return missing;
}

function focusables(box) {
  return [...box.querySelectorAll("button, input, select, textarea, [tabindex]:not([tabindex='-1'])")].filter(
    (n) => !n.disabled && n.offsetParent !== null,
  );
}

function moveInHistory(root, ev) {
  // The history's tiles (both sections) form one list: arrows, Home and End move, Enter opens (history.js).
  const tile = document.activeElement && document.activeElement.closest && document.activeElement.closest(".cw-tile");
  if (!tile || !root.contains(tile)) return false;
  const tiles = [...root.querySelectorAll(".cw-history .cw-tile")].filter((n) => n.offsetParent !== null);
  const i = tiles.indexOf(tile);
  const target = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: tiles.length - 1 }[ev.key];
  if (target === undefined) return false;
  ev.preventDefault();
  const next = tiles[Math.max(0, Math.min(tiles.length - 1, target))];
  if (next) next.focus();
  return true;
}

function onKey(root, ev) {
  if (moveInHistory(root, ev)) return;
  if (ev.key === "F6") {
    const areas = AREA_ORDER.map((s) => root.querySelector(s)).filter((n) => n && n.offsetParent !== null);
    if (!areas.length) return;
    ev.preventDefault();
    const now = areas.findIndex((a) => a.contains(document.activeElement));
    const step = ev.shiftKey ? -1 : 1;
    const next = areas[(now + step + areas.length) % areas.length];
    next.focus();
    return;
  }
  const dialog = root.querySelector(".cw-dialog");
  if (!dialog || dialog.offsetParent === null || !dialog.contains(document.activeElement)) return;
  if (ev.key === "Escape") {
    ev.preventDefault();
    const cancel = dialog.querySelector(".cw-dialog-cancel");
    if (cancel) cancel.click();
    const opener = root.querySelector(".cw-new-conversation");
    if (opener) opener.focus();
  } else if (ev.key === "Tab") {
    const items = focusables(dialog);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (ev.shiftKey && document.activeElement === first) { ev.preventDefault(); last.focus(); }
    else if (!ev.shiftKey && document.activeElement === last) { ev.preventDefault(); first.focus(); }
  }
}

function watchDialog(root) {
  // When the dialog opens, focus moves into it (its first control).
  const dialog = root.querySelector(".cw-dialog");
  if (!dialog) return false;
  let open = dialog.offsetParent !== null;
  new MutationObserver(() => {
    const nowOpen = dialog.offsetParent !== null;
    if (nowOpen && !open) {
      const items = focusables(dialog);
      if (items.length) items[0].focus();
    }
    open = nowOpen;
  }).observe(dialog, { attributes: true, attributeFilter: ["style", "class"] });
  return true;
}

// When a conversation opens, focus goes to its composer (or, read only, to the messages area), so keyboard and
// screen-reader users land where the conversation is instead of staying on the tile.
function focusOpened(root) {
  const title = root.querySelector(".cw-messages .cw-area-title");
  const before = title ? title.textContent : "";
  const started = performance.now();
  const clicked = document.activeElement;
  let opened = 0;
  function check() {
    // A user who moved focus meanwhile (F6, Tab, a click) keeps it: it is never pulled back to the composer.
    const active = document.activeElement;
    if (active && active !== clicked && active !== document.body && root.contains(active)) return;
    const now = root.querySelector(".cw-messages .cw-area-title");
    if (!opened && now && now.textContent !== before) opened = performance.now();
    if (opened) {
      // The composer is enabled a moment after the title changes; a read-only conversation never enables it.
      const box = root.querySelector(".cw-composer textarea");
      if (box && !box.disabled) { box.focus(); return; }
      if (performance.now() - opened > 2000) { root.querySelector(".cw-messages").focus(); return; }
    }
    if (performance.now() - started < 15000) requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
}

function watchOpening(root) {
  root.addEventListener("click", (ev) => { if (ev.target.closest(".cw-history .cw-tile")) focusOpened(root); });
  root.addEventListener("keydown", (ev) => {
    if ((ev.key === "Enter" || ev.key === " ") && ev.target.closest && ev.target.closest(".cw-history .cw-tile")) {
      focusOpened(root);
    }
  });
}

// Narrow screens show one area at a time: a tab bar switches, and opening a conversation shows its messages.
// A tile switches at once; every other way of opening one (the dialog, a search result, a mention) switches when
// the kernel says it opened ("opened" message).
function showView(root, view) {
  root.dataset.cwView = view;
  for (const b of root.querySelectorAll(":scope > .cw-area-tabs .cw-area-tab")) {
    b.setAttribute("aria-selected", String(b.dataset.cwView === view));
  }
}

function tabBar(root, names) {
  if (root.querySelector(":scope > .cw-area-tabs")) return true;
  const areas = root.querySelector(".cw-areas");
  if (!areas) return false;
  const bar = document.createElement("div");
  bar.className = "cw-area-tabs";
  bar.setAttribute("role", "tablist");
  const show = (view) => showView(root, view);
  for (const key of ["history", "messages", "details"]) {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "tab");
    b.className = "cw-area-tab cw-area-tab-" + key;
    b.dataset.cwView = key;
    b.textContent = names[key] || key;
    b.addEventListener("click", () => show(key));
    bar.append(b);
  }
  areas.before(bar);
  root.addEventListener("click", (ev) => { if (ev.target.closest(".cw-tile")) show("messages"); });
  root.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target.closest && ev.target.closest(".cw-tile")) show("messages");
  });
  show(root.dataset.cwView || "history");
  return true;
}

function render({ model, el }) {
  el.style.display = "none";
  try {
    model.set("timezone", Intl.DateTimeFormat().resolvedOptions().timeZone || "");
    model.save_changes();
  } catch (e) { /* a browser without Intl time zones keeps UTC */ }
  let tries = 0;
  let dialogWatched = false;
  let keysBound = false;
  // The areas render after this widget; label them as they appear (a bounded number of frames, no observer).
  function step() {
    const root = el.closest(".cw-app");
    if (root) {
      if (!keysBound) {
        root.ownerDocument.addEventListener("keydown", (ev) => onKey(root, ev));
        watchOpening(root);
        keysBound = true;
      }
      const missing = apply(root, model.get("labels"));
      if (!dialogWatched) dialogWatched = watchDialog(root);
      const tabs = tabBar(root, model.get("tabs"));
      if (missing === 0 && dialogWatched && tabs) return;
    }
    if (tries++ < 600) requestAnimationFrame(step);
  }
  step();
  model.on("msg:custom", (msg) => {
    const root = el.closest(".cw-app");
    if (msg && msg.type === "opened" && root) showView(root, "messages");
  });
  model.on("change:labels", () => { const root = el.closest(".cw-app"); if (root) apply(root, model.get("labels")); });
}
export default { render };
