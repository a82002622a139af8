// The meeting room: the pre-join screen, then the call. This module owns the room's
// state and connects the parts: signalling.js (the websocket), media.js (devices and the
// peer connection), levels.js (who is speaking), recording.js (recording and consent)
// and ui.js (the page).
//
// Publishing is held back until the first snapshot says whether a recording runs: the
// peer connection and its offer get ready meanwhile, but the mic and camera senders stay
// empty. recording.js then lets go at once, or after the joining participant has chosen
// whether to be recorded (see decidedToPublish).
//
// Everything the page starts with comes from data attributes on [data-room] (no inline
// script). "?join=now" skips the pre-join screen (used by "Use here" and benchmarks).
//
// "Join now" does not wait for the camera and microphone: the permission prompt may be
// answered late, or never. What the room is told of our mic and camera is derived from
// the tracks actually going out (reportMediaState), and it is told again whenever a
// track arrives, is replaced or goes away, so others never see "microphone off" for a
// microphone they can hear, nor "on" for one that sends nothing.
//
// When the host mutes us (one by one, or everyone at once), the microphone goes off here
// first and the room is told by reportMediaState, as for any other change. While the host
// keeps others from unmuting (unmute_locked; hosts are never held), the mic stays off:
// its button is disabled and says why, and a microphone that would go out unannounced is
// turned off rather than heard by people who see us muted.

import { Signalling } from "./signalling.js";
import {
  LocalMedia,
  MediaConnection,
  describeMediaError,
  screenShareSupported,
  speakerSelectionSupported,
  webrtcSupported,
} from "./media.js";
import { JanusMediaConnection } from "./janus_media.js";
import { LevelMeter } from "./levels.js";
import { RoomRecording } from "./recording.js";
import { CallStats, Survey } from "./survey.js";
import { TimeLimit } from "./time_limit.js";
import { RoomUI } from "./ui.js";

function parseJSON(text, fallback) {
  try {
    return text ? JSON.parse(text) : fallback;
  } catch {
    return fallback;
  }
}

const root = document.querySelector("[data-room]");
const config = {
  title: root.dataset.meetingTitle,
  you: root.dataset.participantId,
  name: root.dataset.displayName,
  isHost: root.dataset.isHost === "true",
  ticket: root.dataset.ticket,
  iceServers: parseJSON(root.dataset.iceServers, []),
  wsPath: root.dataset.wsPath,
  statusUrl: root.dataset.statusUrl,
  micOn: root.dataset.micOff !== "true",
  cameraOn: root.dataset.cameraOff !== "true",
  layout: root.dataset.layout,
};

const state = {
  you: config.you,
  isHost: config.isHost,
  participants: new Map(), // id -> PARTICIPANT, in the order they joined
  lobby: [],
  locked: false,
  unmuteLocked: false, // the host keeps everyone else from unmuting
  publishing: false, // the mic and camera may go out (decided once, see decidedToPublish)
  hand: false,
  sharing: false,
  joined: false,
  out: false,
  synced: false, // a snapshot arrived on this connection
  everSynced: false, // a snapshot arrived on this page (we are in, not coming back)
  iceServers: config.iceServers,
};

const local = new LocalMedia({ micOn: config.micOn, cameraOn: config.cameraOn });
const ui = new RoomUI(root, (action, detail) => act(action, detail));
const timeLimit = new TimeLimit(root);
const callStats = new CallStats();
const survey = new Survey(root, callStats);
const recording = new RoomRecording(root, {
  ui,
  send: (message) => Boolean(signalling && signalling.send(message)),
  onJoinChoice: (choice) => decidedToPublish(choice),
});
const meter = new LevelMeter({
  onLevels: (levels) => {
    if (state.joined) ui.setLevels(levels);
    else ui.setMicMeter(levels.get(state.you) || 0, Boolean(local.micTrack));
  },
  onActiveSpeaker: (id) => ui.setActiveSpeaker(id),
});
let signalling = null;
let media = null;
let screenTrack = null;
let renderQueued = false;
let reported = {}; // media state sent since the latest snapshot (it may not show yet)

// --- start -------------------------------------------------------------------------

function boot() {
  ui.setLayout(config.layout);
  ui.setLocked(false, state.isHost);
  reflectToggles();
  root.querySelector("[data-initials]").textContent = initialsOf(config.name);
  if (!screenShareSupported()) ui.hideControl("screen");
  if (!webrtcSupported()) {
    ui.blockWebRTC();
    ui.setPreview(null, "Video meetings need a browser with WebRTC.");
    return;
  }
  local.addEventListener("change", (event) => localTrackChanged(event.detail));
  local.addEventListener("error", (event) => {
    if (state.joined) ui.toast(event.detail.message, { tone: "alert", timeout: 10_000 });
    else ui.setMediaAlert(mediaProblems());
    reflectToggles();
    reportMediaState();
  });
  const skip = new URLSearchParams(window.location.search).get("join") === "now";
  const acquired = local.acquire().then(() => afterAcquire());
  if (skip) {
    join();
  } else {
    ui.setJoinEnabled(true);
    acquired.finally(() => root.querySelector("[data-action='join']").focus());
    lookWhoIsHere();
  }
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", () => listDevices());
  }
}

function initialsOf(name) {
  const words = String(name || "?").trim().split(/\s+/);
  return ((words[0] || "?")[0] + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
}

async function afterAcquire() {
  await listDevices();
  if (!state.joined) updatePreview();
}

async function listDevices() {
  const devices = await local.devices();
  ui.fillDevices(devices, local.deviceIds, { speakers: speakerSelectionSupported() });
}

// While on the pre-join screen: who's in, a fresh ticket, and the heartbeat that keeps
// our admitted session open (the lobby page sent it until now).
const PREJOIN_POLL_MS = 10_000;

async function lookWhoIsHere() {
  if (state.joined || state.out) return;
  setTimeout(lookWhoIsHere, PREJOIN_POLL_MS);
  try {
    const response = await fetch(config.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" });
    const status = await response.json();
    if (status.state !== "admitted") {
      showOut({ reason: status.state === "left" ? "left" : "not_allowed", status });
      return;
    }
    if (status.ticket) config.ticket = status.ticket;
    let skipped = false;
    const others = (status.people || []).filter((name) => {
      if (!skipped && name === config.name) {
        skipped = true;
        return false;
      }
      return true;
    });
    ui.setPrejoinPeople(others);
  } catch {
    // Only a nicety; the room itself will say who's there.
  }
}

// What's wrong with the camera and microphone right now, one sentence for both devices
// when they failed the same way.
function mediaProblems() {
  const { audio, video } = local.errors;
  if (audio && video && audio.name === video.name) {
    return [describeMediaError(audio, "camera and microphone")];
  }
  return [audio && describeMediaError(audio, "microphone"), video && describeMediaError(video, "camera")];
}

function updatePreview() {
  let caption = "Your camera is off";
  if (local.errors.video) caption = "Camera unavailable";
  else if (local.cameraOn && !local.cameraTrack) caption = "Starting your camera…";
  ui.setPreview(local.cameraOn ? local.cameraTrack : null, caption);
}

function localTrackChanged({ kind, track }) {
  if (kind === "audio") {
    meter.watch(state.you, track);
    if (!state.joined) ui.setMicMeter(0, Boolean(track));
  }
  if (!state.joined) {
    updatePreview();
    ui.setMediaAlert(mediaProblems());
  }
  // The room hears of it both ways (a track arriving, replaced or gone; mic or camera)
  // once the sender carries it.
  const swapped = media ? media.replaceTrack(kind, track).catch((error) => console.warn("room: replaceTrack", error)) : null;
  Promise.resolve(swapped).then(() => reportMediaState());
  reflectToggles();
  scheduleRender();
}

// The mic and camera as their toggles show them: on while the device is still starting.
function micShownOn() {
  return local.micOn && Boolean(local.micTrack || !local.errors.audio);
}

function cameraShownOn() {
  return local.cameraOn && !local.errors.video;
}

// The host keeps us from unmuting (never a host).
function unmuteHeld() {
  return state.unmuteLocked && !state.isHost;
}

const UNMUTE_HELD = "The host turned off unmuting. You can turn your microphone on when the host allows it.";

function reflectToggles() {
  const micOn = micShownOn();
  const cameraOn = cameraShownOn();
  ui.setToggle("mic", micOn, { hint: micOn ? "Turn off microphone" : "Turn on microphone" });
  // Off and held: the button can't turn it on (turning it off stays possible).
  ui.setMicHeld(unmuteHeld() && !micOn);
  ui.setToggle("camera", cameraOn, { hint: cameraOn ? "Turn off camera" : "Turn on camera" });
  ui.setToggle("screen", state.sharing, { hint: state.sharing ? "Stop presenting" : "Share your screen" });
  ui.setToggle("hand", state.hand, { hint: state.hand ? "Lower your hand" : "Raise your hand" });
}

// --- joining and the connection ----------------------------------------------------

function join() {
  if (state.joined || state.out) return;
  state.joined = true;
  meter.resume();
  ui.moveDevicePickers();
  ui.show("call");
  ui.setConnection("Connecting…");
  scheduleRender();
  signalling = new Signalling({ wsPath: config.wsPath, ticket: config.ticket, statusUrl: config.statusUrl });
  signalling.addEventListener("open", (event) => flushMedia(event.detail.connectionId));
  signalling.addEventListener("connection", (event) => connectionChanged(event.detail.state));
  signalling.addEventListener("snapshot", (event) => applySnapshot(event.detail.snapshot, event.detail.first));
  signalling.addEventListener("message", (event) => receive(event.detail));
  signalling.addEventListener("out", (event) => showOut(event.detail));
  signalling.start();
  // The peer connection and its offer get ready while the websocket connects; the offer
  // goes out as soon as the socket opens (the server handles it once we're in the room).
  startMedia();
}

function connectionChanged(connection) {
  root.dataset.signalling = connection;
  if (connection === "open") {
    ui.setConnection("");
  } else if (connection === "offline") {
    state.synced = false;
    ui.setConnection("You're offline. Waiting for the network…", "warn");
  } else if (connection === "reconnecting") {
    state.synced = false;
    ui.setConnection("Reconnecting…", "warn");
  }
}

function applySnapshot(snapshot, first) {
  state.you = snapshot.you || state.you;
  state.isHost = Boolean(snapshot.is_host);
  state.locked = Boolean(snapshot.locked);
  state.unmuteLocked = Boolean(snapshot.unmute_locked);
  const joining = !state.everSynced;
  state.everSynced = true;
  state.participants = new Map((snapshot.participants || []).map((person) => [person.id, person]));
  state.lobby = Array.isArray(snapshot.lobby) ? snapshot.lobby : [];
  reported = {};
  if (Array.isArray(snapshot.ice_servers)) state.iceServers = snapshot.ice_servers;
  // Which media server our media speaks to; null: none now (the room said why).
  state.mediaEngine = snapshot.media_engine === undefined ? "aiortc" : snapshot.media_engine;
  state.synced = true;
  ui.setLocked(state.locked, state.isHost);
  ui.setUnmuteLocked(state.unmuteLocked, state.isHost);
  ui.renderLobby(state.lobby, state.isHost);
  if (joining && unmuteHeld() && local.micOn) {
    // Joining while the host keeps everyone muted: in muted, like the others.
    local.setMic(false);
    ui.toast("The host has muted everyone and turned off unmuting, so you joined with your microphone off.", { timeout: 10_000 });
  }
  reflectToggles();
  timeLimit.applySnapshot(snapshot.time_limit, state.isHost);
  if (first) {
    // A new websocket connection means a new peer on the media server: start over,
    // unless this connection is the one our current peer connection signalled on.
    const id = signalling.connectionId;
    if (state.mediaEngine === null) {
      if (media) media.close();
      media = null;
    } else if (!media || media.closed || media.engine !== state.mediaEngine || (media.boundTo !== null && media.boundTo !== id)) {
      // Also when the media started (early, in join) for another engine than the room's.
      startMedia();
    }
  }
  // May open the gate (decidedToPublish) at once, or ask first.
  recording.applySnapshot(snapshot, { first });
  if (first) {
    // The room may remember us differently (a reconnect, saved settings): say what's true.
    reportMediaState();
    const me = state.participants.get(state.you) || {};
    if (Boolean(me.hand_raised) !== state.hand) signalling.send({ type: "hand", raised: state.hand });
  }
  scheduleRender();
}

// What the others can actually hear and see of us: a live, enabled track of each kind,
// and publishing let go (both off while it is held; nothing leaves the browser then).
function mediaTruth() {
  return {
    audio_muted: !(state.publishing && local.micOn && local.micTrack !== null),
    video_off: !(state.publishing && local.cameraOn && local.cameraTrack !== null),
    screen_sharing: state.sharing,
  };
}

// Tell the room whatever of mediaTruth() it doesn't know yet. Every change of our mic,
// camera or screen goes through here (after each snapshot too), so what the room shows
// follows the tracks, whichever order the devices, the user and the host act in.
function reportMediaState() {
  if (!state.joined || !state.synced || state.out) return;
  const me = { ...(state.participants.get(state.you) || {}), ...reported };
  if (unmuteHeld() && me.audio_muted && local.micOn) {
    // The room has us muted and may not hear otherwise (a microphone arriving late, the
    // publishing gate opening): it goes off rather than out unannounced.
    local.setMic(false);
    reflectToggles();
    scheduleRender();
  }
  const mine = mediaTruth();
  const changed = Object.fromEntries(Object.entries(mine).filter(([key, value]) => Boolean(me[key]) !== value));
  if (Object.keys(changed).length) sendMediaState(changed);
}

// The gate before publishing opens, once per page (recording.js says when and how):
// "declined" and "later" join with the camera and microphone off and released (they can
// be turned on later, still unrecorded); "accepted" and "free" publish what was chosen.
async function decidedToPublish(choice) {
  if (state.publishing) return;
  if (choice === "declined" || choice === "later") {
    await local.release();
    reflectToggles();
    ui.announce("You joined with your camera and microphone off");
  }
  if (state.out) return;
  state.publishing = true;
  if (media) await media.setPublishing(true).catch((error) => console.warn("room: publishing", error));
  if (state.synced) reportMediaState();
  scheduleRender();
}

function startMedia() {
  if (media) media.close();
  const Connection = state.mediaEngine === "janus" ? JanusMediaConnection : MediaConnection;
  const current = new Connection({
    iceServers: state.iceServers,
    send: (signal) => sendMedia(current, signal),
    local,
    publishing: state.publishing,
  });
  current.engine = state.mediaEngine || "aiortc";
  current.boundTo = null; // the websocket connection its signals went out on
  current.pending = [];
  media = current;
  callStats.watch(current.peerConnections);
  media.addEventListener("remote", () => scheduleRender());
  media.addEventListener("state", (event) => {
    if (current !== media) return;
    root.dataset.media = event.detail.state;
    if (event.detail.state === "disconnected") ui.setConnection("Connection unstable…", "warn");
    else if (event.detail.state === "connected" && root.dataset.signalling === "open") ui.setConnection("");
  });
  media.addEventListener("failed", () => {
    if (current !== media || state.out) return;
    // The media server has no ICE restart: a fresh websocket gets a fresh server peer,
    // and its snapshot starts a fresh RTCPeerConnection here.
    ui.setConnection("Reconnecting media…", "warn");
    signalling.restart();
  });
  media.start();
  if (state.sharing && screenTrack) media.shareScreen(screenTrack);
}

// Media signals wait for the socket to open; once sent, the peer connection belongs to
// that websocket connection (the server's peer for it).
function sendMedia(connection, signal) {
  if (connection !== media || connection.closed) return;
  if (!signalling || !signalling.isOpen()) {
    connection.pending.push(signal);
    return;
  }
  if (connection.boundTo === null) connection.boundTo = signalling.connectionId;
  if (connection.boundTo !== signalling.connectionId) return; // stale: a restart follows
  signalling.send({ type: "media", signal });
}

function flushMedia(connectionId) {
  if (!media || media.closed || media.boundTo !== null) return;
  media.boundTo = connectionId;
  for (const signal of media.pending.splice(0)) signalling.send({ type: "media", signal });
}

function sendMediaState(change) {
  if (signalling && signalling.send({ type: "media_state", ...change })) Object.assign(reported, change);
}

// --- messages from the room --------------------------------------------------------

function receive(message) {
  switch (message.type) {
    case "media":
      if (media && message.signal) media.handle(message.signal);
      break;
    case "recording_started":
    case "recording_stopped":
    case "recording_consent":
      recording.receive(message);
      break;
    case "participant_joined":
    case "participant_updated": {
      const person = message.participant;
      if (!person || !person.id) break;
      const known = state.participants.has(person.id);
      const before = state.participants.get(person.id);
      state.participants.set(person.id, person);
      if (!known && person.id !== state.you) ui.announce(`${person.name} joined`);
      if (before && !before.hand_raised && person.hand_raised && person.id !== state.you) {
        ui.toast(`${person.name} raised their hand.`, { timeout: 6_000 });
      }
      scheduleRender();
      break;
    }
    case "participant_left": {
      const person = state.participants.get(message.id);
      state.participants.delete(message.id);
      if (person && message.id !== state.you) {
        ui.announce(message.reason === "removed" ? `${person.name} was removed` : `${person.name} left`);
      }
      scheduleRender();
      break;
    }
    case "chat":
      if (message.from && typeof message.text === "string") {
        ui.addChat({ from: message.from, text: message.text, at: message.at, mine: message.from.id === state.you });
      }
      break;
    case "room_locked":
      state.locked = Boolean(message.locked);
      ui.setLocked(state.locked, state.isHost);
      ui.toast(state.locked ? "The room is locked: nobody new can join." : "The room is unlocked.");
      break;
    case "meeting_ended":
      showOut({ reason: "ended", ended: message });
      break;
    case "time_limit_warning":
      timeLimit.warn(message, state.isHost);
      break;
    case "lobby":
      state.lobby = Array.isArray(message.waiting) ? message.waiting : [];
      ui.renderLobby(state.lobby, state.isHost);
      break;
    case "muted_by_host":
      muteByHost();
      ui.toast("The host muted your microphone. Unmute when you want to talk.", { timeout: 8_000 });
      break;
    case "muted_all": {
      const ids = new Set(Array.isArray(message.ids) ? message.ids : []);
      for (const id of ids) {
        const person = state.participants.get(id);
        if (person) state.participants.set(id, { ...person, audio_muted: true });
      }
      setUnmuteLocked(Boolean(message.unmute_locked));
      if (ids.has(state.you)) {
        delete reported.audio_muted; // the room has us muted now, whatever we said before
        muteByHost();
        ui.toast(state.unmuteLocked && !state.isHost
          ? "The host muted everyone and turned off unmuting."
          : "The host muted everyone. Unmute when you want to talk.", { timeout: 8_000 });
      } else if (state.isHost) {
        ui.toast(message.unmute_locked
          ? "Everyone else is muted, and can't unmute until you allow it."
          : "Everyone else is muted.", { timeout: 6_000 });
      }
      reflectToggles();
      scheduleRender();
      break;
    }
    case "unmute_locked": {
      const locked = Boolean(message.locked);
      const changed = locked !== state.unmuteLocked;
      setUnmuteLocked(locked);
      if (changed && !state.isHost) {
        ui.toast(locked ? "The host turned off unmuting." : "The host allowed unmuting: you can turn your microphone on again.", { timeout: 8_000 });
      } else if (changed) {
        ui.announce(locked ? "Others can't unmute" : "Others can unmute again");
      }
      reflectToggles();
      break;
    }
    case "removed":
      showOut({ reason: "removed" });
      break;
    case "error":
      recording.refused(message);
      if (message.code === "media_unavailable") {
        ui.toast(message.message, { tone: "alert", timeout: 15_000 });
        break;
      }
      if (message.code === "unmute_locked") {
        // We tried to unmute while the host keeps us muted: back to muted, and say why.
        setUnmuteLocked(true);
        delete reported.audio_muted;
        muteByHost();
        ui.toast(message.message || UNMUTE_HELD, { tone: "alert", timeout: 8_000 });
        break;
      }
      // Refusals and closes are explained by the close code that follows; show what
      // answers something the user did.
      if (message.message && (message.in_reply_to || message.code === "rate_limited") && message.in_reply_to !== "heartbeat") {
        ui.toast(message.message, { tone: "alert", timeout: 8_000 });
      }
      break;
    default:
      break;
  }
}

// The host muted us: the microphone goes off first, then the room hears it from us.
function muteByHost() {
  local.setMic(false).then(() => {
    reflectToggles();
    reportMediaState();
    scheduleRender();
  });
  reflectToggles();
}

function setUnmuteLocked(locked) {
  state.unmuteLocked = locked;
  ui.setUnmuteLocked(locked, state.isHost);
}

// --- rendering ---------------------------------------------------------------------

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    render();
  });
}

function render() {
  if (state.out) return;
  const remote = media ? media.remoteTracks() : [];
  const tracks = new Map(); // peer id -> {camera, screen}
  const audio = [];
  for (const entry of remote) {
    if (entry.kind === "audio") {
      audio.push(entry);
      continue;
    }
    const slot = tracks.get(entry.peerId) || {};
    slot[entry.source === "screen" ? "screen" : "camera"] = entry.track;
    tracks.set(entry.peerId, slot);
  }
  if (!state.joined) return;

  const people = [...state.participants.values()];
  if (!state.participants.has(state.you)) {
    people.unshift({ id: state.you, name: config.name, is_host: state.isHost, audio_muted: !local.micOn, video_off: !local.cameraOn, hand_raised: state.hand, screen_sharing: state.sharing });
  }
  // You first, then everyone in the order they came in.
  people.sort((a, b) => (b.id === state.you) - (a.id === state.you));
  const tiles = [];
  for (const person of people) {
    const self = person.id === state.you;
    const slot = tracks.get(person.id) || {};
    tiles.push({
      key: `${person.id}:camera`,
      peerId: person.id,
      source: "camera",
      name: self ? config.name : person.name,
      isSelf: self,
      isHost: Boolean(person.is_host),
      audioMuted: self ? !(local.micOn && local.micTrack) : Boolean(person.audio_muted),
      videoOff: self ? !(local.cameraOn && local.cameraTrack) : Boolean(person.video_off),
      hand: self ? state.hand : Boolean(person.hand_raised),
      videoTrack: self ? local.cameraTrack : slot.camera || null,
    });
    if (self && state.sharing && screenTrack) {
      tiles.push({ key: `${person.id}:screen`, peerId: person.id, source: "screen", name: config.name, isSelf: true, videoTrack: screenTrack, presenting: true });
    } else if (!self && slot.screen) {
      tiles.push({ key: `${person.id}:screen`, peerId: person.id, source: "screen", name: person.name, isSelf: false, videoTrack: slot.screen });
    }
  }
  ui.renderTiles(tiles);
  ui.syncAudio(audio.map(({ mid, track }) => ({ mid, track })));
  const watched = new Set([state.you]);
  for (const entry of audio) {
    meter.watch(entry.peerId, entry.track);
    watched.add(entry.peerId);
  }
  meter.retain(watched);
  const listed = people.map((person) => (person.id === state.you
    ? { ...person, name: config.name, audio_muted: !(local.micOn && local.micTrack), video_off: !(local.cameraOn && local.cameraTrack), hand_raised: state.hand, screen_sharing: state.sharing }
    : person));
  ui.renderPeople(listed, { you: state.you, isHost: state.isHost });
}

// --- what the user does ------------------------------------------------------------

async function act(action, detail) {
  switch (action) {
    case "join":
      join();
      break;
    case "mic": {
      if (!micShownOn() && unmuteHeld()) {
        ui.toast(UNMUTE_HELD, { tone: "alert", timeout: 8_000 });
        ui.announce("You can't unmute: the host turned off unmuting");
        break;
      }
      const on = await local.setMic(!micShownOn());
      reportMediaState();
      ui.announce(on ? "Microphone on" : "Microphone off");
      reflectToggles();
      scheduleRender();
      break;
    }
    case "camera": {
      const on = await local.setCamera(!cameraShownOn());
      if (!on && !state.joined) updatePreview();
      reportMediaState();
      ui.announce(on ? "Camera on" : "Camera off");
      reflectToggles();
      scheduleRender();
      break;
    }
    case "screen":
      if (state.sharing) await stopSharing();
      else await startSharing();
      break;
    case "hand":
      state.hand = !state.hand;
      if (signalling) signalling.send({ type: "hand", raised: state.hand });
      ui.announce(state.hand ? "Hand raised" : "Hand lowered");
      reflectToggles();
      scheduleRender();
      break;
    case "chat":
      if (!signalling || !signalling.send({ type: "chat", text: detail.text })) {
        ui.toast("Not connected: your message wasn't sent.", { tone: "alert" });
      }
      break;
    case "leave":
      leave();
      break;
    case "device":
      if (detail.kind === "audiooutput") await ui.setSpeaker(detail.deviceId);
      else await local.useDevice(detail.kind, detail.deviceId);
      break;
    case "admit":
    case "deny":
    case "mute":
      host({ action, target: detail.target });
      break;
    case "remove":
      if (await ui.confirm({ title: `Remove ${detail.name}?`, message: "They leave the meeting now. They can only come back if you let them in again.", confirmLabel: "Remove" })) {
        host({ action: "remove", target: detail.target });
      }
      break;
    case "admit-all":
      host({ action: "admit_all" });
      break;
    case "lock":
      host({ action: state.locked ? "unlock" : "lock" });
      break;
    case "mute-all":
      host({ action: "mute_all", lock_unmute: ui.muteAllLocks() });
      break;
    case "unlock-unmute":
      host({ action: "unlock_unmute" });
      break;
    case "end":
      if (await ui.confirm({ title: "End the meeting for everyone?", message: "Everyone is disconnected, including people waiting in the lobby.", confirmLabel: "End meeting for all" })) {
        host({ action: "end" });
      }
      break;
    case "reconnect":
      window.location.replace(`${window.location.pathname}?join=now`);
      break;
    default:
      break;
  }
}

function host(message) {
  if (!signalling || !signalling.send({ type: "host", ...message })) {
    ui.toast("Not connected: try again in a moment.", { tone: "alert" });
  }
}

async function startSharing() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
  } catch (error) {
    if (error && error.name !== "NotAllowedError" && error.name !== "AbortError") {
      ui.toast(describeMediaError(error, "screen share"), { tone: "alert" });
    }
    return;
  }
  screenTrack = stream.getVideoTracks()[0];
  screenTrack.addEventListener("ended", () => { if (state.sharing) stopSharing(); });
  state.sharing = true;
  if (media) await media.shareScreen(screenTrack);
  reportMediaState();
  ui.announce("You're presenting");
  reflectToggles();
  scheduleRender();
}

async function stopSharing() {
  state.sharing = false;
  if (media) await media.stopScreen();
  if (screenTrack) screenTrack.stop();
  screenTrack = null;
  reportMediaState();
  ui.announce("You stopped presenting");
  reflectToggles();
  scheduleRender();
}

function leave() {
  const sent = signalling ? signalling.send({ type: "leave" }) : false;
  if (!sent) {
    // No websocket right now: leave through the page's form instead.
    const form = root.querySelector("[data-leave-form]");
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" }).catch(() => {});
  }
  showOut({ reason: "self" });
}

function teardown() {
  state.out = true;
  callStats.stop();
  if (signalling) signalling.stop();
  if (media) media.close();
  media = null;
  if (screenTrack) screenTrack.stop();
  local.stop();
  meter.close();
  recording.close();
}

const OUT_STATES = {
  self: { title: "You left the meeting", message: "", rejoin: true },
  removed: { title: "The host removed you", message: "You're no longer in this meeting.", rejoin: false },
  ended: { title: "The meeting has ended", message: "The host ended the meeting for everyone.", rejoin: false },
  replaced: { title: "You joined from somewhere else", message: "This meeting is now open in another tab or on another device, so this one was disconnected.", rejoin: false, reconnect: true },
  not_allowed: { title: "You're not in this meeting", message: "Open the meeting link to ask to join again.", rejoin: true },
  left: { title: "You're out of the meeting", message: "", rejoin: true },
};

// Closed by the server with a reason (signalling's "closed"): its title by the code, its
// message the server's own (left in another tab, timed out, removed, ...).
const CLOSED_TITLES = {
  meeting_over: "The meeting has ended",
  not_admitted: "You're not in this meeting",
  wrong_user: "You're not in this meeting",
  wrong_meeting: "You're not in this meeting",
};

function showOut({ reason, status = null, ended = null, error = null }) {
  if (state.out && reason !== "self") return;
  teardown();
  const limited = ended && ended.reason === "time_limit";
  const out = limited ? timeLimit.ended(ended, state.isHost) : { ...(OUT_STATES[reason] || OUT_STATES.left) };
  if (reason === "closed" && error) {
    // The lobby status says "left, can't rejoin" only when the meeting ended.
    const ended = error.code === "meeting_over" || Boolean(status && status.state === "left" && status.can_rejoin === false);
    out.title = ended ? OUT_STATES.ended.title : CLOSED_TITLES[error.code] || OUT_STATES.left.title;
    out.message = error.message || "";
    out.rejoin = !ended;
  }
  if (status && status.message && (reason === "left" || reason === "not_allowed")) out.message = status.message;
  if (status && status.can_rejoin === false) out.rejoin = false;
  ui.showOver(out);
  if (out.link) root.querySelector("[data-over-message]").append(" ", out.link);
  // Asked only of someone who was in the call (not of a tab another one replaced).
  if (state.everSynced && reason !== "replaced") survey.show();
}

// Closing the tab is not leaving on purpose: the server times the session out unless
// the page comes back. Close the media connection at once, though.
window.addEventListener("pagehide", () => {
  if (media) media.close();
});

boot();
