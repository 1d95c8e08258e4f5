// "+" -> Upload new file. The button opens the file chooser from the click itself; each chosen file is sliced
// here and sent to Python as binary buffers (`chunk_bytes` each, at most `window` unacknowledged), so no frame
// comes near the websocket limit and the page never holds a whole file in memory. Files over the size limit
// are refused before a byte is sent. Uploads run one after another; Python acknowledges every chunk.
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
  q.model.send({ type: "begin", uid: item.uid, name: item.file.name, size: item.file.size, mime: item.file.type || "" });
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
    finish(q, item, "failed", `Could not read ${item.file.name}: ${err && err.message ? err.message : err}`);
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
  if (msg.type === "ready" && item.status === "starting") {
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
    finish(q, item, msg.type, msg.message);
  }
}

function enqueue(q, files) {
  const max = q.model.get("max_bytes");
  for (const file of files) {
    const item = { uid: newId(), file, status: "waiting", sent: 0, sendPos: 0, readPos: 0, block: null, nextBlock: null, acked: 0, inflight: 0, message: "" };
    if (max > 0 && file.size > max) {
      // Refused here, before any byte is sent; the limit is named.
      item.status = "refused";
      item.message = `${file.name} is ${humanSize(file.size)}, larger than the limit of ${q.model.get("max_label")}. ` +
        "Share a smaller file (compress it or split it).";
    }
    q.items.push(item);
  }
  changed(q);
  next(q);
}

function initialize({ model }) {
  const q = queueFor(model);
  q.model = model;
  model.on("msg:custom", (msg) => onMessage(q, msg));
  return () => {
    for (const item of q.items) {
      if (["starting", "sending", "finishing"].includes(item.status)) item.status = "cancelled";
    }
    QUEUES.delete(model.get("key"));
  };
}

function render({ model, el }) {
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
  el.append(button, input, list);

  function sync() {
    button.textContent = model.get("label");
    button.disabled = model.get("disabled");
    button.title = `Share files up to ${model.get("max_label")} each`;
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
      waiting: "waiting",
      starting: "starting…",
      sending: `${pct}% of ${humanSize(item.file.size)}`,
      finishing: "saving…",
      done: `shared (${humanSize(item.file.size)})`,
      cancelled: "cancelled",
      failed: "failed",
      refused: "refused",
    }[item.status];
    info.textContent = text || item.status;
    r.append(name, bar, info);
    if (["waiting", "starting", "sending"].includes(item.status)) {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "cw-upload-cancel";
      cancel.textContent = "Cancel";
      cancel.addEventListener("click", () => {
        const wasRunning = item.status !== "waiting";
        item.status = "cancelled";
        if (wasRunning) model_send_cancel(q, item);
        finish(q, item, "cancelled", "");
      });
      r.append(cancel);
    } else if (["failed", "refused", "cancelled"].includes(item.status)) {
      const dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "cw-upload-dismiss";
      dismiss.textContent = "Dismiss";
      dismiss.addEventListener("click", () => {
        q.items = q.items.filter((i) => i !== item);
        changed(q);
      });
      r.append(dismiss);
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
      list.replaceChildren(...q.items.map(row));
    });
  }

  button.addEventListener("click", () => {
    if (model.get("disabled")) return;
    input.value = "";
    input.click(); // inside the user's click: the chooser opens
  });
  input.addEventListener("change", () => {
    const files = Array.from(input.files || []);
    input.value = "";
    if (files.length) enqueue(q, files);
  });
  q.bus.addEventListener("change", draw);
  model.on("change:label", sync);
  model.on("change:disabled", sync);
  model.on("change:max_label", sync);
  sync();
  draw();
  return () => q.bus.removeEventListener("change", draw);
}

export default { initialize, render };
