// The resumable endpoint's side of the upload queue (loaded in front of upload.js: UploadWidget joins the files).
// tus core over XHR: POST creates the upload, HEAD asks for its offset, PATCH appends `http_chunk_bytes` at a time;
// the upload's address is kept in localStorage per file identity, so a reload can resume it.
// -- the resumable endpoint --------------------------------------------------------------------------

const PENDING_KEY = "cw-upload-pending-v1"; // localStorage: file identity -> {url, conversation, offset, size, name}
const TUS = "1.0.0";

function identity(file) {
  return JSON.stringify([file.name, file.size, file.lastModified]);
}

function loadPending() {
  try {
    const data = JSON.parse(localStorage.getItem(PENDING_KEY) || "{}");
    return data && typeof data === "object" ? data : {};
  } catch (_e) {
    return {};
  }
}

function savePending(data) {
  try { localStorage.setItem(PENDING_KEY, JSON.stringify(data)); } catch (_e) { /* private mode: no resume after reload */ }
}

function remember(item) {
  const data = loadPending();
  data[identity(item.file)] = { url: item.url, conversation: item.conversation, offset: item.offset || 0, size: item.file.size, name: item.file.name, saved: Date.now() };
  savePending(data);
}

function forget(item) {
  const data = loadPending();
  delete data[identity(item.file)];
  savePending(data);
}

function stats(item) {
  // Bytes that left this page per file name, for tests and the benchmark (a resumed upload adds to the same entry).
  const all = (window.__cwUploadStats = window.__cwUploadStats || {});
  return (all[item.file.name] = all[item.file.name] || { sent: 0, requests: 0, resumedAt: [] });
}

function baseUrl() {
  try {
    const el = document.getElementById("jupyter-config-data");
    const url = el ? JSON.parse(el.textContent).baseUrl : null;
    if (url) return url;
  } catch (_e) { /* fall through */ }
  return "/";
}

function endpointUrl(q) {
  return new URL(baseUrl().replace(/\/$/, "") + q.model.get("endpoint"), window.location.origin).href;
}

function request(item, method, url, headers, body, onProgress) {
  // One XHR (it reports upload progress; fetch does not). Resolves {status, headers, body}; status 0 = network.
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open(method, url);
    xhr.setRequestHeader("Tus-Resumable", TUS);
    if (item.token) xhr.setRequestHeader("Authorization", "Bearer " + item.token);
    for (const [k, v] of Object.entries(headers || {})) xhr.setRequestHeader(k, v);
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
    const done = () => {
      if (item.xhr === xhr) item.xhr = null;
      let message = "";
      try { message = JSON.parse(xhr.responseText || "{}").error || ""; } catch (_e) { /* not JSON */ }
      resolve({ status: xhr.status, header: (h) => xhr.getResponseHeader(h), message });
    };
    xhr.onload = done;
    xhr.onerror = done;
    xhr.onabort = done;
    xhr.ontimeout = done;
    xhr.send(body === undefined ? null : body);
  });
}

function b64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

async function httpStart(q, item) {
  item.status = "sending";
  item.started = item.started || performance.now();
  item.message = "";
  changed(q);
  if (!item.url && item.resume) item.url = item.resume.url;
  if (!item.url) {
    const meta = `filename ${b64(item.name || item.file.name)},client_id ${b64("upload-" + item.uid.slice(0, 32))}`;
    const res = await request(item, "POST", endpointUrl(q), { "Upload-Length": String(item.file.size), "Upload-Metadata": meta });
    if (item.status !== "sending") return;
    if (res.status === 201 && res.header("Location") && res.header("Tus-Resumable")) {
      item.url = new URL(res.header("Location"), window.location.origin).href;
      item.offset = 0;
      remember(item);
    } else if ([404, 405].includes(res.status) || (res.status !== 0 && !res.header("Tus-Resumable"))) {
      // No endpoint on this server: the kernel websocket carries the file instead.
      q.httpMissing = true;
      item.mode = "ws";
      item.status = "starting";
      q.model.send({ type: "begin", mode: "ws", uid: item.uid, name: item.file.name, size: item.file.size, mime: item.file.type || "", conversation: item.conversation });
      return;
    } else {
      return httpTrouble(q, item, res);
    }
  } else {
    const res = await request(item, "HEAD", item.url);
    if (item.status !== "sending") return;
    if (res.status !== 200) return httpTrouble(q, item, res);
    item.offset = Number(res.header("Upload-Offset"));
    stats(item).resumedAt.push(item.offset);
    if (res.header("Upload-Attachment")) return httpDone(q, item, Number(res.header("Upload-Attachment")));
  }
  item.retryDelay = 0;
  httpPump(q, item);
}

async function httpPump(q, item) {
  const chunk = Math.max(65536, q.model.get("http_chunk_bytes"));
  const st = stats(item);
  while (item.status === "sending") {
    const start = item.offset;
    const end = Math.min(item.file.size, start + chunk);
    let reported = 0;
    st.requests += 1;
    const res = await request(item, "PATCH", item.url, { "Upload-Offset": String(start), "Content-Type": "application/offset+octet-stream" },
      item.file.slice(start, end), (loaded) => {
        st.sent += loaded - reported;
        reported = loaded;
        item.acked = start + loaded;
        changed(q);
      });
    if (res.status === 204) st.sent += end - start - reported; // the last progress event may not cover all
    if (item.status !== "sending") return;
    if (res.status !== 204) return httpTrouble(q, item, res);
    item.offset = Number(res.header("Upload-Offset"));
    item.acked = item.offset;
    item.retryDelay = 0;
    item.tokenRetry = false;
    const attachment = res.header("Upload-Attachment");
    if (attachment) return httpDone(q, item, Number(attachment));
    remember(item);
    changed(q);
  }
}

function httpTrouble(q, item, res) {
  if (res.status === 0 || res.status === 409 || res.status === 423 || res.status >= 502) {
    // The network dropped (or the offset moved): ask the server where it stands, after a pause.
    item.status = "paused";
    item.message = "";
    changed(q);
    const delay = Math.min(5000, Math.max(500, (item.retryDelay || 250) * 2));
    item.retryDelay = delay;
    const retry = () => {
      window.removeEventListener("online", retry);
      clearTimeout(item.retryTimer);
      if (item.status === "paused") httpStart(q, item);
    };
    window.addEventListener("online", retry);
    item.retryTimer = setTimeout(retry, delay);
    return;
  }
  if (res.status === 401 && !item.tokenRetry) {
    // The token expired (a long dropout): the kernel issues a fresh one, then the upload goes on.
    item.tokenRetry = true;
    item.status = "paused";
    q.model.send({ type: "token", uid: item.uid, conversation: item.conversation, name: item.file.name, size: item.file.size });
    return;
  }
  if (res.status === 404 && item.url) {
    // The server no longer knows this upload (expired, or another server): start it again from the beginning.
    forget(item);
    item.url = null;
    item.resume = null;
    return httpStart(q, item);
  }
  forget(item);
  finish(q, item, "failed", res.message || tr("The upload failed (HTTP {status}). Upload the file again.", { status: res.status }));
}

function httpDone(q, item, attachment) {
  forget(item);
  item.acked = item.file.size;
  item.seconds = (performance.now() - (item.started || performance.now())) / 1000;
  try {
    q.model.send({ type: "uploaded", uid: item.uid, conversation: item.conversation, attachment });
  } catch (_e) { /* the kernel is away: the stream shows the file when the feed brings it */ }
  finish(q, item, "done", "");
}

function httpCancel(item) {
  if (item.xhr) item.xhr.abort();
  clearTimeout(item.retryTimer);
  if (item.url) {
    const xhr = new XMLHttpRequest();
    xhr.open("DELETE", item.url);
    xhr.setRequestHeader("Tus-Resumable", TUS);
    if (item.token) xhr.setRequestHeader("Authorization", "Bearer " + item.token);
    xhr.send();
  }
  forget(item);
}
