// The file viewer panel: one widget for every preview and download of the app.
//
// Any element with `data-cw-file="<id>"` inside the same app (file rows in the stream, the Files and Media
// sections of area 3) opens that file here: Python checks the rights, then sends the bytes over the widget's
// comm in chunks. They become a Blob URL, so bytes never need an HTTP route and downloads match exactly.
// Only known raster image, PDF and video types are ever given their real type; everything else (HTML, SVG,
// scripts, unknown) becomes application/octet-stream and is offered as a download under its original name.

const INLINE_TYPES = {
  image: ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"],
  pdf: ["application/pdf"],
  video: ["video/mp4", "video/webm", "video/ogg"],
};

function safeType(kind, mediaType) {
  const allowed = INLINE_TYPES[kind];
  return allowed && allowed.includes(mediaType) ? mediaType : "application/octet-stream";
}

function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-viewer-root");
  el.hidden = true;
  const head = document.createElement("div");
  head.className = "cw-viewer-head";
  const title = document.createElement("span");
  title.className = "cw-viewer-name";
  const meta = document.createElement("span");
  meta.className = "cw-viewer-meta cw-muted";
  const save = document.createElement("button");
  save.type = "button";
  save.className = "cw-viewer-download";
  save.textContent = tr("Download");
  const newTab = document.createElement("a");
  newTab.className = "cw-viewer-newtab";
  newTab.target = "_blank";
  newTab.rel = "noopener";
  newTab.textContent = tr("Open in new tab");
  newTab.hidden = true;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "cw-viewer-close";
  close.textContent = tr("Close");
  close.setAttribute("aria-label", tr("Close the file viewer"));
  head.append(title, meta, save, newTab, close);
  const status = document.createElement("div");
  status.className = "cw-viewer-status";
  status.setAttribute("aria-live", "polite");
  const error = document.createElement("div");
  error.className = "cw-error cw-viewer-error";
  error.setAttribute("role", "alert");
  const body = document.createElement("div");
  body.className = "cw-viewer-body";
  const saveLink = document.createElement("a");
  saveLink.className = "cw-viewer-save";
  saveLink.hidden = true;
  el.append(head, status, error, body, saveLink);

  let current = null; // the preview: {req, id, kind, name, media_type, size, parts, received}
  let saving = null; // a download in progress: {req, download_name, size, parts, received}
  const urls = new Set();

  function revokeAll() {
    for (const u of urls) URL.revokeObjectURL(u);
    urls.clear();
  }

  function reset() {
    revokeAll();
    body.replaceChildren();
    error.textContent = "";
    status.textContent = "";
    saveLink.hidden = true;
    saveLink.removeAttribute("href");
    newTab.hidden = true;
    newTab.removeAttribute("href");
    saving = null;
  }

  function hide() {
    reset();
    current = null;
    el.hidden = true;
  }

  function show(msg) {
    reset();
    current = { ...msg, parts: [], received: 0 };
    el.hidden = false;
    el.dataset.kind = msg.kind;
    title.textContent = msg.name;
    title.title = msg.name;
    meta.textContent = `${msg.size_text} · ${msg.media_type}`;
    if (msg.kind === "text") {
      const pre = document.createElement("pre");
      pre.className = "cw-viewer-text";
      pre.textContent = msg.text; // never HTML
      body.append(pre);
      if (msg.truncated) {
        const more = document.createElement("div");
        more.className = "cw-viewer-more cw-muted";
        more.textContent = tr("Showing the first part only. Download the whole file ({size}) to see the rest.", { size: msg.size_text });
        body.append(more);
      }
    } else if (msg.kind === "table") {
      // Rendered by Python from an autoescaped template (ui/files/tables.py): cells are text, the plot a PNG.
      const table = document.createElement("div");
      table.innerHTML = msg.table_html;
      body.append(...table.childNodes);
    } else if (msg.kind === "download") {
      const note = document.createElement("div");
      note.className = "cw-viewer-note";
      note.textContent = msg.note;
      body.append(note);
    }
    if (msg.streaming) status.textContent = tr("Loading…");
  }

  function progress(acc) {
    if (!acc.size) return;
    const pct = Math.floor((100 * acc.received) / acc.size);
    status.textContent = acc === saving ? tr("Preparing the download… {pct}%", { pct }) : tr("Loading… {pct}%", { pct });
  }

  function showPreview() {
    const blob = new Blob(current.parts, { type: safeType(current.kind, current.media_type) });
    current.parts = [];
    const url = URL.createObjectURL(blob);
    urls.add(url);
    status.textContent = "";
    let node = null;
    if (current.kind === "image") {
      node = document.createElement("img");
      node.className = "cw-viewer-image";
      node.alt = current.name;
    } else if (current.kind === "pdf") {
      node = document.createElement("iframe");
      node.className = "cw-viewer-pdf";
      node.title = current.name;
    } else if (current.kind === "video") {
      node = document.createElement("video");
      node.className = "cw-viewer-video";
      node.controls = true;
    }
    if (!node) return;
    node.src = url;
    body.replaceChildren(node);
    newTab.href = url;
    newTab.hidden = false;
  }

  function finishSave() {
    // Always octet-stream: the browser saves it and never renders it.
    const blob = new Blob(saving.parts, { type: "application/octet-stream" });
    const url = URL.createObjectURL(blob);
    urls.add(url);
    status.textContent = "";
    saveLink.href = url;
    saveLink.download = saving.download_name; // the original name; the browser cleans it further
    saveLink.textContent = tr("Save {name} again", { name: saving.download_name });
    saveLink.hidden = false;
    saving = null;
    saveLink.click();
  }

  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "show") {
      show(msg);
    } else if (msg.type === "save") {
      saving = { ...msg, parts: [], received: 0 };
      status.textContent = tr("Preparing the download…");
    } else if (msg.type === "bytes") {
      const acc = current && current.req === msg.req ? current : saving && saving.req === msg.req ? saving : null;
      if (!acc) return; // a stale request: another file was opened since
      for (const b of buffers || []) {
        const part = b instanceof DataView ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b;
        acc.parts.push(part);
        acc.received += part.byteLength;
      }
      progress(acc);
      if (msg.last) {
        if (acc === saving) finishSave(); else showPreview();
      }
    } else if (msg.type === "error") {
      el.hidden = false;
      status.textContent = "";
      error.textContent = msg.message;
    } else if (msg.type === "hide") {
      hide();
    }
  });

  save.addEventListener("click", () => {
    if (current) model.send({ type: "download", id: current.id });
  });
  close.addEventListener("click", () => {
    hide();
    model.send({ type: "closed" });
  });

  // Clicks on file links anywhere in this app open them here (one listener, no widget per file).
  function onClick(ev) {
    const target = ev.target.closest ? ev.target.closest("[data-cw-file]") : null;
    if (!target) return;
    const app = el.closest(".cw-app");
    if (app && !app.contains(target)) return; // another app on the same page
    const id = Number(target.dataset.cwFile);
    if (!Number.isInteger(id) || id <= 0) return;
    ev.preventDefault();
    model.send({ type: "open", id });
  }
  document.addEventListener("click", onClick);
  return () => {
    document.removeEventListener("click", onClick);
    revokeAll();
  };
}

export default { render };
