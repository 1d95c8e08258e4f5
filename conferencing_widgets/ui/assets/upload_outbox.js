// Files chosen offline (issue 16), loaded in front of upload.js (UploadWidget joins the two files).
// A file chosen, pasted, dropped or photographed while the page cannot reach the network or its kernel is kept in
// IndexedDB (File objects are structured-cloneable) under the signed-in user's scope (`outbox_scope`: a hash of
// the login from Python; never the token), with the conversation open at that moment. When the page is back, and
// on the next page load, the queue uploads it without the user choosing it again; its entry goes when the server
// has stored the file, when the upload is refused, or when the user cancels. Without IndexedDB (private mode, quota)
// the file waits in memory only and its row says it would be lost on a reload.
const FILE_DB = "cw-upload-outbox";
const FILE_STORE = "files"; // {uid, scope, conversation_id, file, name, size, type, lastModified, created}

function pageOnline(model) {
  // The same test as the message outbox: the browser, the connection view and the kernel connection.
  if (!navigator.onLine) return false;
  if (window.cwConnectionState && window.cwConnectionState !== "online") return false;
  const k = model.widget_manager && model.widget_manager.kernel;
  return !k || (k.connectionStatus === "connected" && k.status !== "dead");
}

let fileDb = null; // one promise per page: the open database, or a rejection where there is none

function openFileDb() {
  if (!fileDb) {
    fileDb = new Promise((resolve, reject) => {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      const req = window.indexedDB.open(FILE_DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(FILE_STORE, { keyPath: "uid" });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("IndexedDB blocked"));
    });
    fileDb.catch(() => {});
  }
  return fileDb;
}

async function fileTx(mode, work) {
  // Runs `work(store)` in one transaction; resolves its request's result when the transaction is done.
  const db = await openFileDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(FILE_STORE, mode);
    const req = work(tx.objectStore(FILE_STORE));
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("aborted")); // e.g. QuotaExceededError
  });
}

function keepFile(scope, item) {
  // True once the file is stored; false where it cannot be (then it lives in memory only).
  if (!scope) return Promise.resolve(false);
  const f = item.file;
  const entry = { uid: item.uid, scope, conversation_id: item.conversation, file: f, name: f.name, size: f.size, type: f.type || "", lastModified: f.lastModified, created: new Date().toISOString() };
  return fileTx("readwrite", (s) => s.put(entry)).then(() => true, (err) => {
    console.warn("conferencing: a file chosen offline could not be kept in this browser", err);
    return false;
  });
}

function dropFile(uid) {
  return fileTx("readwrite", (s) => s.delete(uid)).catch(() => {});
}

function keptFiles(scope) {
  // This user's kept entries, oldest first (another user's stay untouched on a shared browser).
  if (!scope) return Promise.resolve([]);
  return fileTx("readonly", (s) => s.getAll()).then(
    (all) => (all || []).filter((e) => e && e.scope === scope && e.file instanceof Blob && Number.isInteger(e.conversation_id))
      .sort((a, b) => String(a.created).localeCompare(String(b.created))),
    () => [],
  );
}

function restoredFile(entry) {
  // A Blob read back keeps its bytes; a File keeps its name too, but make sure of name and date.
  const f = entry.file;
  if (f instanceof File && f.name === entry.name) return f;
  return new File([f], entry.name, { type: entry.type || f.type || "", lastModified: entry.lastModified || Date.now() });
}

// -- the queue's side (upload.js's `newItem`, `changed`, `next`: one module once joined) -----------------

function wake(q) {
  // The page is back: files kept offline join the queue.
  if (!q.model || !pageOnline(q.model)) return;
  let any = false;
  for (const item of q.items) if (item.status === "offline") { item.status = "waiting"; any = true; }
  if (any) { changed(q); next(q); }
}

async function restore(q) {
  // After a reload: this user's files kept offline come back from IndexedDB and are sent without choosing them.
  q.restoring = true;
  try {
    const entries = await keptFiles(q.model.get("outbox_scope"));
    const pending = loadPending();
    for (const e of entries) {
      if (q.items.some((i) => i.uid === e.uid)) continue;
      const item = newItem(restoredFile(e), e.uid, pending);
      Object.assign(item, { queued: true, kept: true, conversation: e.conversation_id, status: "offline" });
      q.items.push(item);
    }
  } finally {
    q.restoring = false;
  }
  changed(q);
  wake(q);
}
