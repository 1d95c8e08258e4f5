// Honest reconnects (issue 16). The page's kernel connection is the widget manager's `kernel`, a
// @jupyterlab/services KernelConnection: `connectionStatus` ("connected" | "connecting" | "disconnected") with its
// `connectionStatusChanged` signal, and `status` ("dead" once it is gone) with `statusChanged`. The browser's own
// online/offline events count too (an offline browser may keep a dead socket open for a while).
// While not connected the view asks the server for the kernel (GET <base>api/kernels/<id>): 404 means culled or
// restarted, so "Reconnecting…" would be a lie; the page says so and offers a reload. The reload lands in the same
// conversation, because the URL carries it (`url_param`, read by the dashboard at start; rights checked there).
// Other views learn the state from the window event "cw-connection" ({state: "online" | "reconnecting" | "gone"}).
const CHECK_EVERY_MS = 3000;

function kernelOf(model) {
  return (model.widget_manager && model.widget_manager.kernel) || null;
}

function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-connection-root");
  const banner = document.createElement("div");
  banner.className = "cw-reconnecting";
  banner.setAttribute("role", "status");
  banner.textContent = tr("Reconnecting…");
  banner.hidden = true;
  const gone = document.createElement("div");
  gone.className = "cw-kernel-gone";
  gone.setAttribute("role", "alert");
  gone.hidden = true;
  const text = document.createElement("span");
  text.textContent = tr("This page's session on the server has ended (it was closed or restarted). Reload to continue in the same conversation.");
  const reload = document.createElement("button");
  reload.type = "button";
  reload.className = "cw-reload";
  reload.textContent = tr("Reload");
  reload.addEventListener("click", () => window.location.reload());
  gone.append(text, reload);
  el.append(banner, gone);

  const kernel = kernelOf(model);
  let state = "online";
  let timer = null;

  function connected() {
    if (!navigator.onLine) return false;
    if (!kernel) return true; // no kernel to watch (a static render): never claim a reconnect
    return kernel.connectionStatus === "connected" && kernel.status !== "dead";
  }

  function set(next) {
    if (state === "gone") return; // final: only a reload brings the page back
    if (next === state) return;
    state = next;
    banner.hidden = state !== "reconnecting";
    gone.hidden = state !== "gone";
    window.cwConnectionState = state;
    window.dispatchEvent(new CustomEvent("cw-connection", { detail: { state } }));
  }

  async function kernelExists() {
    const base = (kernel.serverSettings && kernel.serverSettings.baseUrl) || "/";
    try {
      const res = await fetch(base.replace(/\/?$/, "/") + "api/kernels/" + encodeURIComponent(kernel.id), {
        credentials: "same-origin", cache: "no-store",
      });
      if (res.status === 404) return false;
    } catch (e) {
      // The network itself is down: we cannot know yet, keep reconnecting.
    }
    return true;
  }

  async function check() {
    timer = null;
    if (connected()) { set("online"); return; }
    set("reconnecting");
    if (kernel && navigator.onLine && !(await kernelExists())) { set("gone"); return; }
    // Still there: @jupyterlab/services gives up after a few attempts ("disconnected"); ask it again.
    if (kernel && navigator.onLine && kernel.connectionStatus === "disconnected" && typeof kernel.reconnect === "function") {
      kernel.reconnect().catch(() => {});
    }
    if (state !== "gone") timer = setTimeout(check, CHECK_EVERY_MS);
  }

  function changed() {
    if (connected()) { if (timer) { clearTimeout(timer); timer = null; } set("online"); }
    else if (!timer) check();
  }

  if (kernel) {
    if (kernel.connectionStatusChanged) kernel.connectionStatusChanged.connect(changed);
    if (kernel.statusChanged) kernel.statusChanged.connect(changed);
  }
  window.addEventListener("online", changed);
  window.addEventListener("offline", changed);
  window.cwConnectionState = state;
  changed();

  // The open conversation in the URL (history.replaceState: no navigation, no new kernel).
  function syncUrl() {
    const param = model.get("url_param");
    if (!param) return;
    const url = new URL(window.location.href);
    const id = model.get("conversation_id");
    if (id) url.searchParams.set(param, String(id)); else url.searchParams.delete(param);
    if (url.href !== window.location.href) window.history.replaceState(window.history.state, "", url.href);
  }
  model.on("change:conversation_id", syncUrl);
  syncUrl();

  return () => {
    if (timer) clearTimeout(timer);
    if (kernel) {
      if (kernel.connectionStatusChanged) kernel.connectionStatusChanged.disconnect(changed);
      if (kernel.statusChanged) kernel.statusChanged.disconnect(changed);
    }
    window.removeEventListener("online", changed);
    window.removeEventListener("offline", changed);
  };
}
export default { render };
