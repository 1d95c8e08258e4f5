// The message box: Enter sends, Shift+Enter makes a new line. The text stays until Python confirms the send,
// so a failed send loses nothing; a retry of the same text reuses its client id, so it never posts twice.
function newId() {
  return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");
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
  el.append(box, send, hint, error);

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
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); submit(); }
  });
  send.addEventListener("click", submit);
  model.on("msg:custom", (msg) => {
    if (msg.type === "sent") { pending = false; box.value = ""; sentText = null; clientId = null; sync(); box.focus(); }
    else if (msg.type === "failed") { pending = false; sync(); box.focus(); }
  });
  for (const name of ["disabled", "placeholder", "error", "value"]) model.on("change:" + name, sync);
  sync();
}
export default { render };
