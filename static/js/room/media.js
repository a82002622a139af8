// Camera, microphone and screen, and the one peer connection to the media server.
//
// How the browser negotiates with the media server (meetings/media/sfu.py):
// - The client opens: it adds one sendonly transceiver per thing it publishes (mic,
//   camera; a recvonly audio one when it publishes nothing, so the offer has an m-line)
//   and sends its offer with "sources" (mid -> "mic" | "camera" | "screen").
// - The server then offers whenever the room changes; we answer. We are the polite peer
//   of "perfect negotiation": an offer that collides with ours wins (setRemoteDescription
//   rolls ours back), and negotiationneeded makes us offer again afterwards.
// - Muting the mic and turning the camera off never renegotiate: the mic track is
//   disabled, the camera's sender gets a null track (and the camera is released).
// - Screen sharing adds a separate sendonly transceiver named "screen", reused next time.
// - Publishing can be held back (``publishing: false``): the m-lines are negotiated as
//   usual, but the mic and camera senders carry no track, so nothing leaves the browser
//   until setPublishing(true). The room holds it until it knows whether a recording runs
//   and, if so, what the participant chose (see recording.js).
// - There is no ICE restart on the server: when the connection fails, the caller starts
//   over with a fresh RTCPeerConnection (and a fresh server peer).

const CAMERA_CONSTRAINTS = {
  // No simulcast through the forwarding server: every subscriber gets this one stream,
  // so keep it modest.
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24, max: 30 },
};
const MIC_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const ANSWER_TIMEOUT_MS = 8_000;
// A "disconnected" peer connection often heals by itself; after this long, start over.
const DISCONNECTED_GRACE_MS = 5_000;

// Our offers speak the media server's numbering. aiortc writes every m-line of its own
// offers with its fixed payload types (opus 96, VP8 97, its RTX 98) and header extension
// ids (mid 1, audio level 2, abs-send-time 3), also on the m-lines we offered, and keeps
// one id -> extension map per transport (all m-lines share it with BUNDLE). A browser
// that numbered its offer its own way (Chrome: opus 111, VP8 96, audio level 1, ...)
// would, after the server's first renegotiation, send with numbers the server no longer
// routes or parses, and its tracks would stop at the server. So the offer uses the
// server's numbers, and leaves out the codecs and extensions the server would refuse
// anyway (it forwards only opus and VP8).
const PAYLOAD_TYPES = { opus: "96", vp8: "97", "vp8-rtx": "98" };
const HEADER_EXTENSION_IDS = {
  "urn:ietf:params:rtp-hdrext:sdes:mid": 1,
  "urn:ietf:params:rtp-hdrext:ssrc-audio-level": 2,
  "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time": 3,
};

function alignMediaSection(section) {
  const lines = section.split("\r\n");
  const [media, port, proto, ...formats] = lines[0].split(" ");
  if (port === "0") return section; // a stopped m-line
  const codec = {}; // payload type -> lower-case codec name
  const apt = {}; // RTX payload type -> the payload type it repairs
  for (const line of lines) {
    const rtpmap = /^a=rtpmap:(\d+) ([^/]+)\//.exec(line);
    if (rtpmap) codec[rtpmap[1]] = rtpmap[2].toLowerCase();
    const fmtp = /^a=fmtp:(\d+) .*\bapt=(\d+)/.exec(line);
    if (fmtp) apt[fmtp[1]] = fmtp[2];
  }
  const renumber = {};
  if (media === "m=audio") {
    const opus = formats.find((pt) => codec[pt] === "opus");
    if (opus) renumber[opus] = PAYLOAD_TYPES.opus;
  } else if (media === "m=video") {
    const vp8 = formats.find((pt) => codec[pt] === "vp8");
    if (vp8) {
      renumber[vp8] = PAYLOAD_TYPES.vp8;
      const rtx = formats.find((pt) => codec[pt] === "rtx" && apt[pt] === vp8);
      if (rtx) renumber[rtx] = PAYLOAD_TYPES["vp8-rtx"];
    }
  }
  if (Object.keys(renumber).length === 0) return section;
  const out = [[media, port, proto, ...formats.filter((pt) => renumber[pt]).map((pt) => renumber[pt])].join(" ")];
  for (const line of lines.slice(1)) {
    const perCodec = /^a=(rtpmap|fmtp|rtcp-fb):(\d+)( .*)?$/.exec(line);
    if (perCodec) {
      const pt = renumber[perCodec[2]];
      if (!pt) continue;
      const rest = (perCodec[3] || "").replace(/\bapt=(\d+)/, (all, old) => `apt=${renumber[old] || old}`);
      out.push(`a=${perCodec[1]}:${pt}${rest}`);
      continue;
    }
    const extmap = /^a=extmap:\d+(\/\w+)? (\S+)(.*)$/.exec(line);
    if (extmap) {
      const id = HEADER_EXTENSION_IDS[extmap[2]];
      if (id) out.push(`a=extmap:${id}${extmap[1] || ""} ${extmap[2]}${extmap[3]}`);
      continue;
    }
    out.push(line);
  }
  return out.join("\r\n");
}

export function alignWithMediaServer(sdp) {
  return sdp
    .split(/\r\n(?=m=)/)
    .map((section, index) => (index === 0 ? section : alignMediaSection(section)))
    .join("\r\n");
}

export function webrtcSupported() {
  return typeof window.RTCPeerConnection === "function";
}

export function mediaDevicesSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

export function screenShareSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
}

export function speakerSelectionSupported() {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

// A sentence for a failed getUserMedia, naming the device(s) it was about.
export function describeMediaError(error, what) {
  const name = error && error.name;
  const it = what.includes(" and ") ? "them" : "it";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return `Your browser is blocking the ${what}. Allow ${it} in the site settings (the icon at the left of the address bar), then turn ${it} on again. You can still join and see and hear everyone.`;
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    return `No ${what} found. Connect one and pick it in the settings, or join without it.`;
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return `The ${what} couldn't start: another app may be using it. Close that app, then turn it on again.`;
  }
  if (name === "InsecureContext") {
    return "The camera and microphone only work over a secure (https) connection. You can still join to see and hear everyone.";
  }
  return `The ${what} couldn't start (${name || "unknown error"}). You can still join without it.`;
}

// The local camera and microphone.
// Events: "change" {kind: "audio" | "video", track} whenever a track is started, replaced
// or stopped; "error" {kind, error, message}.
export class LocalMedia extends EventTarget {
  constructor({ micOn = true, cameraOn = true } = {}) {
    super();
    this.micOn = micOn;
    this.cameraOn = cameraOn;
    this.micTrack = null;
    this.cameraTrack = null;
    this.deviceIds = { audioinput: "", videoinput: "", audiooutput: "" };
    this.errors = { audio: null, video: null };
    this.ready = null; // the first acquisition, as a promise
    this.kinds = null; // device kinds present, once listed
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // Start what the toggles say, asking for both devices in one prompt. The microphone
  // is captured even when muted, so unmuting is instant (its track is only disabled).
  acquire() {
    this.ready = this._acquire();
    return this.ready;
  }

  async _acquire() {
    if (!mediaDevicesSupported()) {
      const error = { name: window.isSecureContext === false ? "InsecureContext" : "NotSupportedError" };
      this.errors = { audio: error, video: error };
      this.emit("error", { kind: "both", error, message: describeMediaError(error, "camera and microphone") });
      return;
    }
    const wantVideo = this.cameraOn;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: this.audioConstraints(),
        video: wantVideo ? this.videoConstraints() : false,
      });
      this.adopt(stream);
      return;
    } catch (error) {
      if (!wantVideo) {
        this.failed("audio", error);
        return;
      }
      // One of the two may still work: try them apart to say which one is the problem.
    }
    await Promise.all([this.startMic(), this.startCamera()]);
  }

  audioConstraints() {
    const id = this.deviceIds.audioinput;
    return id ? { ...MIC_CONSTRAINTS, deviceId: { exact: id } } : { ...MIC_CONSTRAINTS };
  }

  videoConstraints() {
    const id = this.deviceIds.videoinput;
    return id ? { ...CAMERA_CONSTRAINTS, deviceId: { exact: id } } : { ...CAMERA_CONSTRAINTS };
  }

  adopt(stream) {
    for (const track of stream.getTracks()) {
      if (track.kind === "audio") this.setMicTrack(track);
      else if (this.cameraOn) this.setCameraTrack(track);
      else track.stop(); // turned off while the devices were starting
    }
  }

  // Wait for the first acquisition if it is still under way (a permission prompt not
  // answered yet), so a toggle meanwhile neither starts a second capture nor is undone
  // by the first one's tracks arriving.
  async settled() {
    await Promise.resolve(this.ready).catch(() => {});
  }

  failed(kind, error) {
    this.errors[kind] = error;
    const what = kind === "audio" ? "microphone" : "camera";
    if (kind === "audio") this.micOn = false;
    else this.cameraOn = false;
    this.emit("error", { kind, error, message: describeMediaError(error, what) });
  }

  setMicTrack(track) {
    if (this.micTrack && this.micTrack !== track) this.micTrack.stop();
    this.micTrack = track;
    if (track) {
      this.errors.audio = null;
      track.enabled = this.micOn;
      this.deviceIds.audioinput = track.getSettings().deviceId || this.deviceIds.audioinput;
      track.addEventListener("ended", () => {
        if (this.micTrack === track) {
          this.micOn = false; // as the camera: its toggle shows off, on starts it again
          this.setMicTrack(null);
        }
      });
    }
    this.emit("change", { kind: "audio", track });
  }

  setCameraTrack(track) {
    if (this.cameraTrack && this.cameraTrack !== track) this.cameraTrack.stop();
    this.cameraTrack = track;
    if (track) {
      this.errors.video = null;
      this.deviceIds.videoinput = track.getSettings().deviceId || this.deviceIds.videoinput;
      track.addEventListener("ended", () => {
        if (this.cameraTrack === track) {
          this.cameraOn = false;
          this.setCameraTrack(null);
        }
      });
    }
    this.emit("change", { kind: "video", track });
  }

  async startMic() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: this.audioConstraints() });
      this.setMicTrack(stream.getAudioTracks()[0]);
      return true;
    } catch (error) {
      this.failed("audio", error);
      return false;
    }
  }

  async startCamera() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: this.videoConstraints() });
      if (!this.cameraOn) {
        // Turned off again while the camera was starting.
        for (const track of stream.getTracks()) track.stop();
        return false;
      }
      this.setCameraTrack(stream.getVideoTracks()[0]);
      return true;
    } catch (error) {
      this.failed("video", error);
      return false;
    }
  }

  // Returns the new state. Turning the mic on may need a track first (denied earlier,
  // or no device until now).
  async setMic(on) {
    this.micOn = on;
    if (this.micTrack) this.micTrack.enabled = on;
    if (on && !this.micTrack) await this.settled();
    if (this.micOn !== on) return this.micOn; // toggled again meanwhile
    if (on && !this.micTrack && mediaDevicesSupported()) {
      if (!(await this.startMic())) return false;
    }
    if (this.micTrack) this.micTrack.enabled = on;
    return on;
  }

  // Off releases the camera (its light goes out); on starts it again.
  async setCamera(on) {
    this.cameraOn = on;
    if (!on) {
      this.setCameraTrack(null);
      return false;
    }
    if (!mediaDevicesSupported()) {
      this.cameraOn = false;
      return false;
    }
    await this.settled();
    if (!this.cameraOn) return false; // turned off again meanwhile
    if (this.cameraTrack) return true; // the first acquisition brought it
    return this.startCamera();
  }

  async useDevice(kind, deviceId) {
    this.deviceIds[kind] = deviceId;
    if (kind === "audioinput" && this.micTrack) await this.startMic();
    if (kind === "videoinput" && this.cameraOn) await this.startCamera();
  }

  async devices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
    try {
      const devices = await navigator.mediaDevices.enumerateDevices();
      this.kinds = new Set(devices.map((device) => device.kind));
      return devices;
    } catch {
      return [];
    }
  }

  // False only when the device list is known and has no device of this kind.
  mayHave(kind) {
    if (!mediaDevicesSupported()) return false;
    return this.kinds === null || this.kinds.has(kind);
  }

  // Both devices off and released: the microphone is not merely muted but stopped, so
  // there is no track to publish until it is turned on again.
  async release() {
    await this.settled(); // a capture still starting
    this.micOn = false;
    this.cameraOn = false;
    this.setMicTrack(null);
    this.setCameraTrack(null);
  }

  stop() {
    this.setMicTrack(null);
    this.setCameraTrack(null);
  }
}

// The one RTCPeerConnection to the media server (on Janus, one of two: janus_media.js).
// Events: "remote" (the remote track mapping changed), "state" {state}, "failed".
// ``pc`` names the connection in every message it sends ("publish" | "subscribe", Janus
// only); ``align`` renumbers our offers for aiortc (see alignWithMediaServer).
export class MediaConnection extends EventTarget {
  constructor({ iceServers = [], send, local, publishing = true, pc = null, align = true }) {
    super();
    this.send = pc ? (signal) => send({ ...signal, pc }) : send;
    this.align = align;
    this.local = local;
    this.publishing = publishing; // false: the senders stay empty (see setPublishing)
    this.pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this.makingOffer = false;
    this.offerWanted = false;
    this.closed = false;
    this.sourceOf = new Map(); // our transceivers -> "mic" | "camera" | "screen"
    this.mic = null;
    this.camera = null;
    this.screen = null;
    this.trackInfo = new Map(); // mid -> {peer_id, source, kind} from the latest "tracks"
    this.streamOf = new Map(); // mid -> msid stream id (the publisher's id), the fallback
    this.queue = Promise.resolve();
    this.answerTimer = null;
    this.disconnectTimer = null;
    this.wire();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  wire() {
    const pc = this.pc;
    pc.addEventListener("negotiationneeded", () => this.offer());
    pc.addEventListener("icecandidate", ({ candidate }) => {
      this.send({ type: "candidate", candidate: candidate ? candidate.toJSON() : null });
    });
    pc.addEventListener("track", (event) => {
      const mid = event.transceiver.mid;
      if (mid !== null && event.streams[0]) this.streamOf.set(mid, event.streams[0].id);
      const track = event.track;
      for (const type of ["mute", "unmute", "ended"]) {
        track.addEventListener(type, () => this.emit("remote"));
      }
      this.emit("remote");
    });
    pc.addEventListener("connectionstatechange", () => {
      const state = pc.connectionState;
      this.emit("state", { state });
      clearTimeout(this.disconnectTimer);
      if (state === "failed") this.fail();
      else if (state === "disconnected") {
        // Often a blip that heals by itself; if it doesn't, start over.
        this.disconnectTimer = setTimeout(() => {
          if (pc.connectionState === "disconnected") this.fail();
        }, DISCONNECTED_GRACE_MS);
      }
    });
  }

  // Add what we publish; negotiationneeded then sends the first offer.
  start() {
    const pc = this.pc;
    const stream = new MediaStream();
    const mic = this.local.micTrack;
    const camera = this.local.cameraTrack;
    const held = !this.publishing;
    if (mic || (!this.local.errors.audio && this.local.mayHave("audioinput"))) {
      this.mic = pc.addTransceiver((!held && mic) || "audio", { direction: "sendonly", streams: [stream] });
      this.sourceOf.set(this.mic, "mic");
    }
    // The camera's m-line exists from the start when there is a camera, even while it's
    // off, so turning it on later needs no renegotiation.
    if (camera || (!this.local.errors.video && this.local.mayHave("videoinput"))) {
      this.camera = pc.addTransceiver((!held && camera) || "video", { direction: "sendonly", streams: [stream] });
      this.sourceOf.set(this.camera, "camera");
    }
    if (!this.mic && !this.camera) {
      // Publishing nothing: an m-line is still needed to open the negotiation.
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
  }

  // Offer when stable and not already offering; otherwise remember to offer once the
  // current exchange is over (negotiationneeded does not always fire again by itself:
  // after an ignored event, or after our offer was rolled back by the server's).
  async offer() {
    if (this.closed) return;
    const pc = this.pc;
    if (this.makingOffer || pc.signalingState !== "stable") {
      this.offerWanted = true;
      return;
    }
    this.offerWanted = false;
    this.makingOffer = true;
    try {
      const offer = await pc.createOffer();
      if (pc.signalingState !== "stable") {
        this.offerWanted = true; // the server's offer came first
        return;
      }
      await pc.setLocalDescription(this.align ? { type: "offer", sdp: alignWithMediaServer(offer.sdp) } : offer);
      if (pc.signalingState !== "have-local-offer") {
        this.offerWanted = true; // rolled back meanwhile
        return;
      }
      this.send({
        type: "sdp",
        description: { type: "offer", sdp: pc.localDescription.sdp },
        sources: this.sources(),
      });
      this.expectAnswer();
    } catch (error) {
      console.warn("room: offer failed", error);
    } finally {
      this.makingOffer = false;
    }
  }

  offerIfWanted() {
    if (this.offerWanted && !this.closed && this.pc.signalingState === "stable") this.offer();
  }

  // The server answers every offer it accepts; it ignores one that collides with its
  // own, and then its offer reaches us and ours is rolled back. Nothing at all within a
  // few seconds means the offer was lost: start over.
  expectAnswer() {
    clearTimeout(this.answerTimer);
    this.answerTimer = setTimeout(() => {
      if (!this.closed && this.pc.signalingState === "have-local-offer") this.fail();
    }, ANSWER_TIMEOUT_MS);
  }

  sources() {
    const sources = {};
    for (const [transceiver, source] of this.sourceOf) {
      if (transceiver.mid !== null && !transceiver.stopped) sources[transceiver.mid] = source;
    }
    return sources;
  }

  // Every media message from the server goes through here, one at a time.
  handle(signal) {
    this.queue = this.queue.then(() => this.apply(signal)).catch((error) => {
      console.warn("room: media signal failed", error);
    });
    return this.queue;
  }

  async apply(signal) {
    if (this.closed) return;
    const pc = this.pc;
    if (signal.type === "tracks") {
      this.trackInfo = new Map((signal.tracks || []).map((track) => [String(track.mid), track]));
      this.emit("remote");
      return;
    }
    if (signal.type === "reset") {
      // Our media worker went away: start over on a fresh connection, as after a failure.
      this.emit("failed");
      return;
    }
    if (signal.type === "candidate") {
      if (signal.candidate) await pc.addIceCandidate(signal.candidate).catch(() => {});
      return;
    }
    if (signal.type !== "sdp" || !signal.description) return;
    const description = signal.description;
    if (description.type === "answer") {
      if (pc.signalingState !== "have-local-offer") return; // stale: that offer was rolled back
      clearTimeout(this.answerTimer);
      await pc.setRemoteDescription(description);
    } else if (description.type === "offer") {
      // Polite peer: a colliding offer of ours is rolled back implicitly (the server
      // ignored it), so ours goes again once this exchange is done.
      if (pc.signalingState === "have-local-offer" || this.makingOffer) this.offerWanted = true;
      clearTimeout(this.answerTimer);
      await pc.setRemoteDescription(description);
      await pc.setLocalDescription();
      this.send({ type: "sdp", description: { type: "answer", sdp: pc.localDescription.sdp } });
    }
    this.emit("remote");
    this.offerIfWanted();
  }

  // Swap the mic or camera track: no renegotiation, unless this is the first track of
  // its kind (the device was missing or blocked when we joined). While publishing is
  // held, the sender stays empty (the m-line is still added, ready for later).
  async replaceTrack(kind, track) {
    if (this.closed) return;
    const sent = this.publishing ? track : null;
    const transceiver = kind === "audio" ? this.mic : this.camera;
    if (transceiver) {
      if (transceiver.sender.track !== sent) await transceiver.sender.replaceTrack(sent);
      return;
    }
    if (!track) return;
    const added = this.pc.addTransceiver(sent || kind, { direction: "sendonly", streams: [new MediaStream()] });
    if (kind === "audio") this.mic = added;
    else this.camera = added;
    this.sourceOf.set(added, kind === "audio" ? "mic" : "camera");
  }

  // Start (or hold back again) sending the local mic and camera on their m-lines.
  async setPublishing(on) {
    this.publishing = on;
    await Promise.all([
      this.replaceTrack("audio", this.local.micTrack),
      this.replaceTrack("video", this.local.cameraTrack),
    ]);
  }

  async shareScreen(track) {
    const pc = this.pc;
    if (this.screen && !this.screen.stopped) {
      await this.screen.sender.replaceTrack(track);
      this.screen.direction = "sendonly"; // negotiationneeded if it was inactive
    } else {
      this.screen = pc.addTransceiver(track, { direction: "sendonly", streams: [new MediaStream([track])] });
      this.sourceOf.set(this.screen, "screen");
    }
    if ("contentHint" in track) track.contentHint = "detail"; // sharp text over smooth motion
  }

  async stopScreen() {
    if (!this.screen || this.screen.stopped) return;
    await this.screen.sender.replaceTrack(null);
    this.screen.direction = "inactive"; // the server unpublishes it; renegotiates
  }

  // Which participant each live remote track belongs to: the latest "tracks" message,
  // then the forwarded stream id as a fallback.
  remoteTracks() {
    const result = [];
    for (const transceiver of this.pc.getTransceivers()) {
      if (this.sourceOf.has(transceiver) || transceiver.mid === null || transceiver.stopped) continue;
      const direction = transceiver.currentDirection;
      if (direction !== "recvonly" && direction !== "sendrecv") continue;
      const track = transceiver.receiver.track;
      if (!track || track.readyState === "ended") continue;
      const info = this.trackInfo.get(transceiver.mid);
      if (info) {
        result.push({ mid: transceiver.mid, peerId: info.peer_id, source: info.source, kind: track.kind, track });
      } else if (this.streamOf.has(transceiver.mid)) {
        result.push({
          mid: transceiver.mid,
          peerId: this.streamOf.get(transceiver.mid),
          source: track.kind === "audio" ? "mic" : "camera",
          kind: track.kind,
          track,
        });
      }
    }
    return result;
  }

  fail() {
    if (this.closed) return;
    this.emit("failed");
  }

  get peerConnections() {
    return [this.pc];
  }

  close() {
    this.closed = true;
    clearTimeout(this.answerTimer);
    clearTimeout(this.disconnectTimer);
    try {
      this.pc.close();
    } catch {
      // already closed
    }
  }
}
