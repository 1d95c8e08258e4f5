// "+" -> Upload new file. The button opens the file chooser from the click itself (on phones and tablets a
// second button opens the camera: `accept="image/*"` + `capture`). Files over the size limit are refused before
// a byte is sent. Uploads run one after another.
//
// Main path, outside the kernel: Python checks the upload and answers with a short-lived token; the bytes go to
// the Voila server's resumable endpoint (tus core: POST creates, HEAD tells the offset, PATCH appends) in
// `http_chunk_bytes` requests straight from the File (the browser streams them from disk). After a dropout the
// upload resumes from the server's offset; the upload's address and the file's identity (name, size, last
// modified) are kept in localStorage, so after a reload choosing the same file again resumes it too. When the
// server has stored the file it answers with the attachment id, and Python is told (it checks and refreshes).
//
// Fallback where there is no endpoint (JupyterLab): each file is sliced here and sent to Python as binary
// buffers over the kernel websocket (`chunk_bytes` each, at most `window` unacknowledged).
//
// Offline (issue 16, `upload_outbox.js` in front of this file): a file chosen while the page is offline waits in
// IndexedDB ("offline" rows) and is uploaded to the conversation it was chosen in once the page is back, also after
// a reload. Its client id comes from its uid, so trying again never stores it twice.
//
// The upload queue belongs to the model (set up in `initialize`), not to a view: closing the "+" menu or
// re-rendering the button never interrupts a running upload. Views only draw the queue.

const QUEUES = new Map(); // model key -> queue state (module scope is shared by initialize and render)

function newId() {
  return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + String(Math.random()).slice(2)).replace(/-/g, "");
}

function humanSize(n) {
  let v = n;
  for (const unit of ["bytes", "KB", "MB", "GB"]) {
    if (v < 1024 || unit === "GB") {
      if (unit === "bytes") return `${Math.round(v)} byte${Math.round(v) === 1 ? "" : "s"}`;
      return `${v.toFixed(1).replace(/\.0$/, "")} ${unit}`;
    }
    v /= 1024;
  }
  return `${n} bytes`;
}

function queueFor(model) {
  const key = model.get("key");
  let q = QUEUES.get(key);
  if (!q) {
    q = { items: [], active: null, bus: new EventTarget(), model: null };
    QUEUES.set(key, q);
  }
  return q;
}

function changed(q) {
  q.bus.dispatchEvent(new Event("change"));
}

function finish(q, item, status, message) {
  if (item.queued) dropFile(item.uid); // stored, refused, failed or cancelled: nothing left to send later
  item.status = status;
  item.message = message || "";
  item.inflight = 0;
  item.block = item.nextBlock = null; // let the file's bytes go
  if (q.active === item) q.active = null;
  changed(q);
  if (status === "done") {
    // Finished rows leave after a while; errors stay until dismissed.
    setTimeout(() => {
      q.items = q.items.filter((i) => i !== item);
      changed(q);
    }, 6000);
  }
  next(q);
}

function next(q) {
  if (q.active) return;
  const item = q.items.find((i) => i.status === "waiting");
  if (!item) return;
  q.active = item;
  item.status = "starting";
  changed(q);
  if ((item.resume || item.queued) && !q.httpMissing) {
    // A resume, or a file kept offline: the token is for the conversation it was started (or chosen) in.
    item.mode = "http";
    const conversation = item.resume ? item.resume.conversation : item.conversation;
    q.model.send({ type: "token", uid: item.uid, conversation, name: item.file.name, size: item.file.size });
    return;
  }
  item.mode = q.httpMissing ? "ws" : "http";
  q.model.send({ type: "begin", mode: item.mode, uid: item.uid, name: item.file.name, size: item.file.size, mime: item.file.type || "", conversation: item.conversation });
}

const READ_BLOCK = 4 * 1024 * 1024; // the browser reads files fastest in big slices; chunks are cut from them

function readBlock(item) {
  // Start reading the next block now, so the disk read overlaps the chunks in flight.
  const start = item.readPos;
  const end = Math.min(item.file.size, start + READ_BLOCK);
  item.readPos = end;
  const promise = item.file.slice(start, end).arrayBuffer();
  promise.catch(() => {}); // reported when awaited; a cancelled upload never awaits it
  return { start, promise };
}

async function takeChunk(item, chunk) {
  // The next chunk to send as {start, buffer}, or null at the end of the file.
  if (item.sendPos >= item.file.size) return null;
  if (!item.block || item.sendPos >= item.block.start + item.block.buffer.byteLength) {
    const next = item.nextBlock || readBlock(item);
    item.nextBlock = item.readPos < item.file.size ? readBlock(item) : null;
    item.block = { start: next.start, buffer: await next.promise };
  }
  const offset = item.sendPos - item.block.start;
  const length = Math.min(chunk, item.block.buffer.byteLength - offset);
  item.sendPos += length;
  return { start: item.block.start + offset, buffer: item.block.buffer.slice(offset, offset + length) };
}

async function pump(q, item) {
  // Keep up to `window` chunks in flight; each ack lets the next one go.
  if (item.pumping) return;
  item.pumping = true;
  try {
    const model = q.model;
    const chunk = Math.max(16384, model.get("chunk_bytes"));
    const windowSize = Math.max(1, model.get("window"));
    while (item.status === "sending" && item.inflight < windowSize && item.sendPos < item.file.size) {
      item.inflight += 1;
      const piece = await takeChunk(item, chunk);
      if (item.status !== "sending" || !piece) return;
      item.sent = piece.start + piece.buffer.byteLength;
      model.send({ type: "chunk", uid: item.uid, offset: piece.start }, undefined, [piece.buffer]);
    }
    if (item.status === "sending" && item.acked >= item.file.size && !item.ended) {
      item.ended = true;
      item.status = "finishing";
      item.block = item.nextBlock = null;
      changed(q);
      model.send({ type: "end", uid: item.uid });
    }
  } catch (err) {
    // The browser could not read the file (moved, deleted, permission revoked).
    model_send_cancel(q, item);
    finish(q, item, "failed", tr("Could not read {name}: {error}", { name: item.file.name, error: err && err.message ? err.message : err }));
  } finally {
    item.pumping = false;
  }
}

function model_send_cancel(q, item) {
  try { q.model.send({ type: "cancel", uid: item.uid }); } catch (_e) { /* the kernel is gone */ }
}

function onMessage(q, msg) {
  const item = q.items.find((i) => i.uid === msg.uid);
  if (!item) return;
  if (msg.type === "token") {
    if (["starting", "paused"].includes(item.status)) {
      item.token = msg.token;
      item.name = msg.name;
      item.conversation = msg.conversation;
      httpStart(q, item);
    }
  } else if (item.mode === "http" && item.status === "done") {
    // Python's answer to "uploaded": the file is stored already, whatever it says.
  } else if (msg.type === "ready" && item.status === "starting") {
    item.status = "sending";
    item.started = performance.now();
    changed(q);
    pump(q, item);
  } else if (msg.type === "ack" && item.status === "sending") {
    item.acked = msg.received;
    item.inflight = Math.max(0, item.inflight - 1);
    changed(q);
    pump(q, item);
  } else if (msg.type === "done") {
    item.acked = item.file.size;
    item.seconds = (performance.now() - (item.started || performance.now())) / 1000;
    finish(q, item, "done", "");
  } else if (msg.type === "refused" || msg.type === "failed") {
    if (item.mode === "http") forget(item); // e.g. no longer a member: a resume would be refused too
    finish(q, item, msg.type, msg.message);
  }
}

function newItem(file, uid, pending) {
  const item = { uid: uid || newId(), file, status: "waiting", sent: 0, sendPos: 0, readPos: 0, block: null, nextBlock: null, acked: 0, inflight: 0, message: "" };
  const saved = pending[identity(file)];
  if (saved && saved.url && Number.isInteger(saved.conversation)) item.resume = saved;
  return item;
}

function enqueue(q, files) {
  const max = q.model.get("max_bytes");
  const pending = loadPending();
  const offline = !pageOnline(q.model);
  for (const file of files) {
    const item = newItem(file, null, pending);
    if (offline && !(max > 0 && file.size > max)) {
      // Kept until the page is back, for the conversation open now; `kept` says whether a reload would lose it.
      item.status = "offline";
      item.queued = true;
      item.conversation = q.model.get("conversation_id");
      keepFile(q.model.get("outbox_scope"), item).then((ok) => {
        item.kept = ok;
        if (ok && !["offline", "waiting", "starting", "sending", "paused", "finishing"].includes(item.status)) dropFile(item.uid);
        changed(q);
      });
    }
    if (max > 0 && file.size > max) {
      // Refused here, before any byte is sent; the limit is named.
      item.status = "refused";
      item.message = tr("{name} is {size}, larger than the limit of {limit}. Share a smaller file (compress it or split it).",
        { name: file.name, size: humanSize(file.size), limit: q.model.get("max_label") });
    }
    q.items.push(item);
  }
  changed(q);
  next(q);
}

function initialize({ model }) {
  S = model.get("strings") || {};
  const q = queueFor(model);
  q.model = model;
  model.on("msg:custom", (msg) => onMessage(q, msg));
  // Back online: the browser's event, the connection view's, or the kernel connection itself.
  const gone = new AbortController();
  const wakeSoon = () => setTimeout(() => wake(q), 0);
  window.addEventListener("online", wakeSoon, { signal: gone.signal });
  window.addEventListener("cw-connection", (ev) => { if ((ev.detail || {}).state === "online") wakeSoon(); }, { signal: gone.signal });
  const k = model.widget_manager && model.widget_manager.kernel;
  if (k && k.connectionStatusChanged) k.connectionStatusChanged.connect(wakeSoon);
  restore(q);
  return () => {
    gone.abort();
    if (k && k.connectionStatusChanged) k.connectionStatusChanged.disconnect(wakeSoon);
    for (const item of q.items) {
      if (["starting", "sending", "finishing", "paused"].includes(item.status)) {
        item.status = "cancelled"; // an HTTP upload stays resumable: its record in localStorage is kept
        if (item.xhr) item.xhr.abort();
        clearTimeout(item.retryTimer);
      }
    }
    QUEUES.delete(model.get("key"));
  };
}

function render({ model, el }) {
  S = model.get("strings") || {};
  const q = queueFor(model);
  if (!q.model) q.model = model;
  el.classList.add("cw-upload-root");
  const input = document.createElement("input");
  input.type = "file";
  input.multiple = true;
  input.hidden = true;
  input.className = "cw-upload-input";
  input.setAttribute("aria-hidden", "true");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "cw-upload-button jupyter-button";
  const list = document.createElement("div");
  list.className = "cw-upload-list";
  list.setAttribute("aria-live", "polite");
  el.append(button, input);
  // Phones and tablets: a second entry opens the camera directly (the plain chooser offers it too).
  const coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;
  const camera = document.createElement("button");
  const cameraInput = document.createElement("input");
  if (coarse) {
    cameraInput.type = "file";
    cameraInput.accept = "image/*";
    cameraInput.setAttribute("capture", "environment");
    cameraInput.hidden = true;
    cameraInput.className = "cw-upload-camera-input";
    cameraInput.setAttribute("aria-hidden", "true");
    camera.type = "button";
    camera.className = "cw-upload-camera jupyter-button";
    el.append(camera, cameraInput);
  }
  el.append(list);

  function sync() {
    button.textContent = model.get("label");
    button.disabled = model.get("disabled");
    button.title = tr("Share files up to {limit} each", { limit: model.get("max_label") });
    camera.textContent = model.get("camera_label");
    camera.disabled = model.get("disabled");
  }

  function pendingRows() {
    // Uploads cut off before a reload: choosing the same file again resumes them.
    if (q.restoring) return []; // a file kept offline may be one of them: it resumes by itself
    const running = new Set(q.items.map((i) => identity(i.file)));
    return Object.entries(loadPending()).filter(([key]) => !running.has(key)).map(([key, p]) => {
      const r = document.createElement("div");
      r.className = "cw-upload-item cw-upload-pending";
      const name = document.createElement("span");
      name.className = "cw-upload-name";
      name.textContent = String(p.name || "");
      const info = document.createElement("span");
      info.className = "cw-upload-info";
      const pct = Math.floor((100 * (p.offset || 0)) / Math.max(1, p.size || 1));
      info.textContent = tr("paused at {pct}%: choose the same file again to resume", { pct });
      const resume = document.createElement("button");
      resume.type = "button";
      resume.className = "cw-upload-resume";
      resume.textContent = tr("Resume");
      resume.addEventListener("click", () => { input.value = ""; input.click(); });
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "cw-upload-dismiss";
      discard.textContent = tr("Discard");
      discard.addEventListener("click", () => {
        const data = loadPending();
        delete data[key];
        savePending(data); // the server removes the partial file when it expires
        draw();
      });
      r.append(name, info, resume, discard);
      return r;
    });
  }

  function row(item) {
    const r = document.createElement("div");
    r.className = "cw-upload-item cw-upload-" + item.status;
    const name = document.createElement("span");
    name.className = "cw-upload-name";
    name.textContent = item.file.name; // text only: hostile names stay inert
    const bar = document.createElement("progress");
    bar.className = "cw-upload-progress";
    bar.max = Math.max(1, item.file.size);
    bar.value = item.acked;
    const info = document.createElement("span");
    info.className = "cw-upload-info";
    const pct = Math.floor((100 * item.acked) / Math.max(1, item.file.size));
    const text = {
      waiting: tr("waiting"),
      offline: tr("waiting for the network"),
      starting: tr("starting…"),
      sending: tr("{pct} of {size}", { pct: pct + "%", size: humanSize(item.file.size) }),
      paused: tr("{pct}%: connection lost, resuming…", { pct }),
      finishing: tr("saving…"),
      done: tr("shared ({size})", { size: humanSize(item.file.size) }),
      cancelled: tr("cancelled"),
      failed: tr("failed"),
      refused: tr("refused"),
    }[item.status];
    info.textContent = text || item.status;
    r.append(name, bar, info);
    if (["offline", "waiting", "starting", "sending", "paused"].includes(item.status)) {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "cw-upload-cancel";
      cancel.textContent = tr("Cancel");
      cancel.addEventListener("click", () => {
        const wasRunning = !["waiting", "offline"].includes(item.status);
        item.status = "cancelled";
        if (wasRunning && item.mode === "http") httpCancel(item);
        else if (wasRunning) model_send_cancel(q, item);
        finish(q, item, "cancelled", "");
      });
      r.append(cancel);
    } else if (["failed", "refused", "cancelled"].includes(item.status)) {
      const dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "cw-upload-dismiss";
      dismiss.textContent = tr("Dismiss");
      dismiss.addEventListener("click", () => {
        q.items = q.items.filter((i) => i !== item);
        changed(q);
      });
      r.append(dismiss);
    }
    if (item.kept === false && ["offline", "waiting", "starting", "sending", "paused"].includes(item.status)) {
      const note = document.createElement("div");
      note.className = "cw-upload-note";
      note.textContent = tr("This browser cannot keep the file: it will be lost if the page is reloaded before it is sent.");
      r.append(note);
    }
    if (item.message) {
      const m = document.createElement("div");
      m.className = "cw-error cw-upload-error";
      m.setAttribute("role", "alert");
      m.textContent = item.message;
      r.append(m);
    }
    return r;
  }

  let scheduled = false;
  function draw() {
    // At most one redraw per frame: acks can arrive faster than the screen refreshes.
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      list.replaceChildren(...q.items.map(row), ...pendingRows());
    });
  }

  button.addEventListener("click", () => {
    if (model.get("disabled")) return;
    input.value = "";
    input.click(); // inside the user's click: the chooser opens
  });
  for (const picker of [input, cameraInput]) {
    picker.addEventListener("change", () => {
      const files = Array.from(picker.files || []);
      picker.value = "";
      if (files.length) enqueue(q, files);
    });
  }
  camera.addEventListener("click", () => {
    if (model.get("disabled")) return;
    cameraInput.value = "";
    cameraInput.click();
  });
  const composerLink = composerFiles(model, q, el);
  q.bus.addEventListener("change", draw);
  model.on("change:label", sync);
  model.on("change:disabled", sync);
  model.on("change:max_label", sync);
  model.on("change:camera_label", sync);
  sync();
  draw();
  return () => { q.bus.removeEventListener("change", draw); composerLink(); };
}

// -- files pasted or dropped into the composer (issue 13): the composer of the same app sends them here as a
// "cw-upload-files" DOM event, so they take the same path as chosen files (checks, resumable endpoint, the file
// message); the queue's progress goes back as "cw-upload-progress" events for the composer to show.
function composerFiles(model, q, el) {
  const root = () => el.closest(".cw-app");
  function onFiles(ev) {
    const detail = ev.detail || {};
    if (detail.handled || !Array.isArray(detail.files) || detail.root !== root() || model.get("disabled")) return;
    detail.handled = true; // one view of one upload widget takes them
    enqueue(q, detail.files);
  }
  function onChange() {
    // A file kept offline says so under the composer too (its line shows `message` instead of a percentage).
    const waiting = (i) => (i.status === "offline" ? `${i.file.name}: ${tr("waiting for the network")}` : "");
    const items = q.items.map((i) => ({ name: i.file.name, status: i.status, acked: i.acked, size: i.file.size, message: i.message || waiting(i) }));
    window.dispatchEvent(new CustomEvent("cw-upload-progress", { detail: { root: root(), items } }));
  }
  window.addEventListener("cw-upload-files", onFiles);
  q.bus.addEventListener("change", onChange);
  return () => { window.removeEventListener("cw-upload-files", onFiles); q.bus.removeEventListener("change", onChange); };
}

export default { initialize, render };
