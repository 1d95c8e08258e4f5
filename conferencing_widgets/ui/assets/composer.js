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

function render({ model, el }) {
  el.classList.add("cw-composer-root");
  const box = document.createElement("textarea");
  box.className = "cw-composer-input";
  box.rows = 2;
  box.setAttribute("aria-label", "Message");
  const send = document.createElement("button");
  send.type = "button";
  send.className = "cw-send";
  send.textContent = "Send";
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

  function sync() {
    const disabled = model.get("disabled");
    box.disabled = disabled || pending;
    send.disabled = disabled || pending;
    box.placeholder = model.get("placeholder");
    hint.textContent = disabled ? "" : "Enter to send · Shift+Enter for a new line";
    error.textContent = model.get("error");
    error.hidden = !model.get("error");
    if (model.get("value") !== box.value && !pending) box.value = model.get("value");
  }

  function submit() {
    const text = box.value;
    if (pending || model.get("disabled")) return;
    if (!text.trim()) { model.set("error", "The message is empty. Type something before sending."); model.save_changes(); return; }
    if (text !== sentText) { clientId = newId(); sentText = text; }
    pending = true;
    sync();
    model.send({ type: "send", text, client_id: clientId });
  }

  box.addEventListener("keydown", (ev) => {
    if (modeKeys(model, box, ev)) return;
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
  });
  send.addEventListener("click", submit);
  model.on("msg:custom", (msg) => {
    if (msg.type === "sent") { pending = false; box.value = ""; sentText = null; clientId = null; sync(); box.focus(); }
    else if (msg.type === "failed") { pending = false; sync(); box.focus(); }
    else if (msg.type === "mode") { sync(); focusEnd(box); }
  });
  for (const name of ["disabled", "placeholder", "error", "value"]) model.on("change:" + name, sync);
  sync();
}
export default { render };
