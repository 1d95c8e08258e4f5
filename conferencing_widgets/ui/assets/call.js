// The built-in browser call: camera preview, Join, then one RTCPeerConnection per other participant.
// Signalling (offers, answers, ICE candidates) goes to Python with model.send; Python checks the rights,
// stores it and the recipient's kernel hears of it through the store's live feed. Whoever joins later
// sends the offers, so two peers never offer to each other at once. Media flows peer to peer.
// Wall-clock milliseconds with sub-millisecond precision: comparable between pages (benchmarks/call_bench.py).
const nowMs = () => performance.timeOrigin + performance.now();

function render({ model, el }) {
  S = model.get("strings") || {};
  el.classList.add("cw-call-root");
  const head = document.createElement("div");
  head.className = "cw-call-head";
  const title = document.createElement("div");
  title.className = "cw-call-title";
  const status = document.createElement("div");
  status.className = "cw-call-status";
  status.setAttribute("role", "status");
  head.append(title, status);
  const mediaError = document.createElement("div");
  mediaError.className = "cw-error cw-call-media-error";
  mediaError.setAttribute("role", "alert");
  mediaError.hidden = true;
  const error = document.createElement("div");
  error.className = "cw-error cw-call-error";
  error.setAttribute("role", "alert");
  const grid = document.createElement("div");
  grid.className = "cw-call-grid";
  const localTile = document.createElement("div");
  localTile.className = "cw-call-tile cw-call-tile-local";
  const local = document.createElement("video");
  local.className = "cw-call-local";
  local.autoplay = true;
  local.playsInline = true;
  local.muted = true; // never play our own microphone back
  const localName = document.createElement("div");
  localName.className = "cw-call-name";
  localTile.append(local, localName);
  grid.append(localTile);
  const controls = document.createElement("div");
  controls.className = "cw-call-controls";
  function makeButton(cls, text) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    controls.append(b);
    return b;
  }
  const joinBtn = makeButton("cw-call-join-button", tr("Join call"));
  const muteBtn = makeButton("cw-call-mute", tr("Mute"));
  const camBtn = makeButton("cw-call-camera", tr("Camera off"));
  const hangBtn = makeButton("cw-call-hangup", tr("Hang up"));
  el.append(head, mediaError, error, grid, controls);

  let stream = null; // local camera/microphone, or null when there are none
  let joined = false;
  let over = false;
  const peers = new Map(); // login -> {pc, session, tile, video, queued: []}

  const names = () => model.get("names") || {};
  const nameOf = (login) => names()[login] || login;

  function setStatus(text) { status.textContent = text; }
  function sync() {
    title.textContent = model.get("title");
    localName.textContent = tr("You ({name})", { name: nameOf(model.get("me")) });
    error.textContent = model.get("error");
    error.hidden = !model.get("error");
    const state = model.get("state");
    joinBtn.hidden = joined || over;
    joinBtn.disabled = state === "joining";
    muteBtn.hidden = camBtn.hidden = hangBtn.hidden = !joined || over;
    el.dataset.state = state;
  }

  function mediaProblem(err) {
    const name = err && err.name;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return tr("This browser offers no camera or microphone here (the page must be served over https, or from localhost). You can still join to see and hear the others.");
    }
    if (name === "NotAllowedError" || name === "SecurityError") {
      return tr("Camera and microphone access was refused. Allow it in the browser's site settings and reload this page, or join without them to see and hear the others.");
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return tr("No camera or microphone was found. You can still join to see and hear the others.");
    }
    if (name === "NotReadableError" || name === "AbortError") {
      return tr("The camera or microphone is in use by another program. Close it and reload, or join without them.");
    }
    return tr("The camera and microphone could not be started ({error}). You can still join.", { error: name || err });
  }

  async function startMedia() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error("no mediaDevices");
    const attempts = [{ video: true, audio: true }, { audio: true }, { video: true }];
    let last = null;
    for (const constraints of attempts) {
      try {
        return await navigator.mediaDevices.getUserMedia(constraints);
      } catch (err) {
        last = err;
        // A refusal applies to every device: asking again only repeats the prompt.
        if (err.name === "NotAllowedError" || err.name === "SecurityError") break;
      }
    }
    throw last;
  }

  const mediaReady = startMedia().then(
    (s) => {
      stream = s;
      local.srcObject = s;
      local.play().catch(() => {});
      camBtn.disabled = s.getVideoTracks().length === 0;
      muteBtn.disabled = s.getAudioTracks().length === 0;
      setStatus(joined ? status.textContent : tr("Ready. Press Join call."));
    },
    (err) => {
      mediaError.textContent = mediaProblem(err);
      mediaError.hidden = false;
      localTile.hidden = true;
      setStatus(tr("Ready (without camera or microphone). Press Join call."));
      el.dataset.media = "none";
    },
  );
  setStatus(tr("Starting camera and microphone…"));

  function send(to, toSession, kind, data) {
    if (over) return;
    model.send({ type: "signal", to, to_session: toSession, kind, data });
  }

  function tileFor(login) {
    const tile = document.createElement("div");
    tile.className = "cw-call-tile";
    tile.dataset.login = login;
    const video = document.createElement("video");
    video.className = "cw-call-remote";
    video.autoplay = true;
    video.playsInline = true;
    const label = document.createElement("div");
    label.className = "cw-call-name";
    label.textContent = nameOf(login);
    const state = document.createElement("div");
    state.className = "cw-call-peer-state cw-muted";
    state.textContent = tr("connecting…");
    tile.append(video, label, state);
    grid.append(tile);
    return { tile, video, state };
  }

  function closePeer(login) {
    const p = peers.get(login);
    if (!p) return;
    peers.delete(login);
    try { p.pc.close(); } catch (e) { /* already closed */ }
    p.tile.remove();
    refreshStatus();
  }

  function refreshStatus() {
    if (over || !joined) return;
    const connected = [...peers.values()].filter((p) => p.pc.connectionState === "connected").length;
    if (peers.size === 0) setStatus(tr("Waiting for others to join…"));
    else if (peers.size === 1) setStatus(tr("In call with {n} of {total} person.", { n: connected, total: peers.size }));
    else setStatus(tr("In call with {n} of {total} people.", { n: connected, total: peers.size }));
  }

  function makePeer(login, session) {
    closePeer(login); // a new offer or a re-join replaces any older connection with that person
    const pc = new RTCPeerConnection({ iceServers: model.get("ice_servers") || [] });
    const view = tileFor(login);
    const p = { pc, session, queued: [], ...view };
    peers.set(login, p);
    if (stream) {
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
    }
    // Always be able to receive both kinds, even without a camera or microphone of our own.
    const kinds = new Set(stream ? stream.getTracks().map((t) => t.kind) : []);
    for (const kind of ["audio", "video"]) if (!kinds.has(kind)) pc.addTransceiver(kind, { direction: "recvonly" });
    pc.onicecandidate = (ev) => {
      if (ev.candidate && p.session) send(login, p.session, "candidate", { candidate: ev.candidate.toJSON() });
      else if (ev.candidate) p.queuedOut = (p.queuedOut || []).concat([ev.candidate.toJSON()]);
    };
    pc.ontrack = (ev) => {
      const remote = ev.streams[0] || new MediaStream([ev.track]);
      if (view.video.srcObject !== remote) view.video.srcObject = remote;
      view.video.play().catch(() => {
        view.state.textContent = tr("click the video to start the sound");
        view.video.addEventListener("click", () => view.video.play(), { once: true });
      });
      if (view.video.requestVideoFrameCallback && !el.dataset.firstRemoteFrameAt) {
        view.video.requestVideoFrameCallback(() => {
          if (!el.dataset.firstRemoteFrameAt) el.dataset.firstRemoteFrameAt = String(nowMs());
        });
      }
    };
    pc.onconnectionstatechange = () => {
      const s = pc.connectionState;
      view.state.textContent = { connected: "", connecting: tr("connecting…"), new: tr("connecting…"),
        disconnected: tr("connection interrupted…"), failed: tr("could not connect (a TURN server may be needed)"),
        closed: tr("left") }[s] ?? s;
      view.tile.dataset.state = s;
      refreshStatus();
    };
    return p;
  }

  function flushOut(login, p) {
    for (const c of p.queuedOut || []) send(login, p.session, "candidate", { candidate: c });
    p.queuedOut = [];
  }

  async function offerTo(login) {
    const p = makePeer(login, null);
    const offer = await p.pc.createOffer();
    await p.pc.setLocalDescription(offer);
    send(login, null, "offer", { type: "offer", sdp: p.pc.localDescription.sdp });
  }

  async function onSignal(sig) {
    const from = sig.from;
    if (sig.kind === "offer") {
      const p = makePeer(from, sig.from_session);
      await p.pc.setRemoteDescription(sig.data);
      const answer = await p.pc.createAnswer();
      await p.pc.setLocalDescription(answer);
      send(from, sig.from_session, "answer", { type: "answer", sdp: p.pc.localDescription.sdp });
      flushOut(from, p);
      for (const c of p.queued.splice(0)) await p.pc.addIceCandidate(c).catch(() => {});
    } else if (sig.kind === "answer") {
      const p = peers.get(from);
      if (!p || p.session || p.pc.signalingState !== "have-local-offer") return; // stale, or another tab answered
      p.session = sig.from_session;
      await p.pc.setRemoteDescription(sig.data);
      flushOut(from, p);
      for (const c of p.queued.splice(0)) await p.pc.addIceCandidate(c).catch(() => {});
    } else if (sig.kind === "candidate") {
      const p = peers.get(from);
      if (!p || (p.session && p.session !== sig.from_session)) return;
      if (!p.pc.remoteDescription) p.queued.push(sig.data.candidate);
      else await p.pc.addIceCandidate(sig.data.candidate).catch(() => {});
    } else if (sig.kind === "bye") {
      closePeer(from);
    }
  }

  // Signals are applied strictly in order: an answer must be set before its candidates.
  let chain = Promise.resolve();
  function enqueue(items) {
    for (const sig of items) {
      chain = chain.then(() => onSignal(sig)).catch((err) => console.warn("call signal failed", err));
    }
  }

  function finish(text) {
    over = true;
    for (const login of [...peers.keys()]) closePeer(login);
    if (stream) for (const t of stream.getTracks()) t.stop();
    local.srcObject = null;
    setStatus(text);
    sync();
  }

  joinBtn.addEventListener("click", async () => {
    if (joined || over) return;
    el.dataset.joinClickedAt = String(nowMs());
    model.set("state", "joining");
    model.save_changes();
    sync();
    await mediaReady; // join with whatever devices we got
    model.send({ type: "join" });
  });
  muteBtn.addEventListener("click", () => {
    if (!stream) return;
    const tracks = stream.getAudioTracks();
    const on = !tracks.some((t) => t.enabled);
    for (const t of tracks) t.enabled = on;
    muteBtn.textContent = on ? tr("Mute") : tr("Unmute");
    muteBtn.setAttribute("aria-pressed", String(!on));
  });
  camBtn.addEventListener("click", () => {
    if (!stream) return;
    const tracks = stream.getVideoTracks();
    const on = !tracks.some((t) => t.enabled);
    for (const t of tracks) t.enabled = on;
    camBtn.textContent = on ? tr("Camera off") : tr("Camera on");
    camBtn.setAttribute("aria-pressed", String(!on));
  });
  hangBtn.addEventListener("click", () => {
    if (over) return;
    model.send({ type: "hangup" });
    finish(tr("You left the call. You can close this window."));
  });
  window.addEventListener("pagehide", () => { if (joined && !over) model.send({ type: "hangup" }); });

  model.on("msg:custom", (msg) => {
    if (msg.type === "joined") {
      joined = true;
      el.dataset.joined = "true";
      sync();
      refreshStatus();
      for (const login of msg.others) {
        chain = chain.then(() => offerTo(login)).catch((err) => console.warn("call offer failed", err));
      }
    } else if (msg.type === "signals") {
      enqueue(msg.items);
    } else if (msg.type === "peer-left") {
      closePeer(msg.login);
    } else if (msg.type === "ended") {
      if (!over) finish(msg.text || tr("The call has ended.")); // after our own hang-up, keep "You left the call"
    } else if (msg.type === "failed") {
      model.set("state", "lobby");
      sync();
    }
  });
  for (const name of ["title", "names", "error", "state"]) model.on("change:" + name, sync);
  if (model.get("state") === "ended") over = true;
  sync();
  if (over) setStatus(tr("The call has ended."));
}
export default { render };
