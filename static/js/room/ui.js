// Everything the room shows: the pre-join preview, the video tiles, the controls, the
// chat, the people panel with the host's tools, notices and the "you're out" states.
//
// It holds no room state of its own: main.js calls render*() with what is true now, and
// hears back about clicks through one callback, onAction(name, detail). Text from other
// people (names, chat) only ever goes in through textContent.

const SVG = "http://www.w3.org/2000/svg";
const GAP_PX = 8;
const TILE_RATIO = 16 / 9;
const CHAT_GROUP_MS = 2 * 60_000;
const MOD = /Mac|iPhone|iPad/.test(navigator.platform || "") ? "⌘" : "Ctrl+";
const SHORTCUTS = { mic: `${MOD}D`, camera: `${MOD}E`, hand: `${MOD}Alt+H` };

export function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) if (child) node.append(child);
  return node;
}

export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "?";
  const first = [...words[0]][0] || "";
  const last = words.length > 1 ? [...words[words.length - 1]][0] || "" : "";
  return (first + last).toUpperCase();
}

function hue(id) {
  let hash = 0;
  for (const char of String(id)) hash = (hash * 31 + char.codePointAt(0)) % 360;
  return hash;
}

function avatar(name, id, className = "avatar") {
  const node = el("span", { className, "aria-hidden": "true", text: initials(name) });
  node.style.setProperty("--avatar-hue", String(hue(id)));
  return node;
}

function clockTime(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function waitedFor(since) {
  const minutes = Math.floor((Date.now() - new Date(since).getTime()) / 60_000);
  if (!Number.isFinite(minutes) || minutes < 1) return "just now";
  return minutes === 1 ? "for 1 minute" : `for ${minutes} minutes`;
}

// Largest 16:9 tiles that fit `count` of them in a width x height box.
export function bestGrid(count, width, height) {
  let best = { columns: 1, tileWidth: 0 };
  for (let columns = 1; columns <= Math.max(1, count); columns += 1) {
    const rows = Math.ceil(count / columns);
    const byWidth = (width - GAP_PX * (columns - 1)) / columns;
    const byHeight = ((height - GAP_PX * (rows - 1)) / rows) * TILE_RATIO;
    const tileWidth = Math.floor(Math.min(byWidth, byHeight));
    if (tileWidth > best.tileWidth) best = { columns, tileWidth };
  }
  return best;
}

// Play a media element; report autoplay refusals (sound needs a click first).
function play(media, onBlocked) {
  const attempt = media.play();
  if (attempt && attempt.catch) {
    attempt.catch((error) => {
      if (error && error.name === "NotAllowedError" && onBlocked) onBlocked();
    });
  }
}

function setStream(media, track) {
  const current = media.srcObject && media.srcObject.getTracks()[0];
  if (current === track) return false;
  media.srcObject = track ? new MediaStream([track]) : null;
  return true;
}

export class RoomUI {
  constructor(root, onAction) {
    this.root = root;
    this.onAction = onAction;
    this.$ = (selector) => root.querySelector(selector);
    this.tiles = new Map(); // key -> {node, video, ...}
    this.audios = new Map(); // mid -> <audio>
    this.speakerId = "";
    this.activeSpeaker = null;
    this.layout = root.dataset.layout === "speaker" ? "speaker" : "gallery";
    this.openPanel = null;
    this.unreadChat = 0;
    this.lastChat = null;
    this.lobbyKnown = new Set();
    this.lobbyToasts = new Map(); // waiting person's id -> their "wants to join" notice
    this.soundBlocked = false;
    this.wire();
  }

  // --- wiring ------------------------------------------------------------------------

  wire() {
    this.root.addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      if (!button || !this.root.contains(button) || button.disabled) return;
      const action = button.dataset.action;
      if (action === "panel") return this.togglePanel(button.dataset.panelName);
      if (action === "layout") return this.setLayout(button.dataset.layoutChoice, true);
      this.onAction(action, { ...button.dataset, button });
    });
    for (const close of this.root.querySelectorAll("[data-close-panel]")) {
      close.addEventListener("click", () => this.togglePanel(null));
    }
    const form = this.$("[data-chat-form]");
    const input = this.$("#chat-input");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      this.onAction("chat", { text });
      input.value = "";
      this.fitChatInput();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    input.addEventListener("input", () => this.fitChatInput());
    for (const select of this.root.querySelectorAll("select[data-device]")) {
      select.addEventListener("change", () => {
        this.onAction("device", { kind: select.dataset.device, deviceId: select.value });
      });
    }
    document.addEventListener("keydown", (event) => this.shortcut(event));
    const stage = this.$("[data-stage]");
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(() => this.layoutTiles()).observe(stage);
    } else {
      window.addEventListener("resize", () => this.layoutTiles());
    }
    this.tickClock();
    setInterval(() => this.tickClock(), 15_000);
  }

  shortcut(event) {
    if (this.$("[data-view='call']").hidden) return;
    // A modal dialog (the recording question, a confirmation) has the keyboard.
    if (this.root.querySelector("dialog[open]")) return;
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    if (event.key === "Escape" && this.openPanel) {
      this.togglePanel(null);
      return;
    }
    if (mod && !event.altKey && key === "d") this.onAction("mic", {});
    else if (mod && !event.altKey && key === "e") this.onAction("camera", {});
    else if (mod && event.altKey && key === "h") this.onAction("hand", {});
    else if (mod && event.altKey && key === "c") this.togglePanel("chat");
    else if (mod && event.altKey && key === "p") this.togglePanel("people");
    else return;
    event.preventDefault();
  }

  tickClock() {
    const clock = this.$("[data-clock]");
    if (clock) clock.textContent = clockTime(new Date());
  }

  fitChatInput() {
    const input = this.$("#chat-input");
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 140)}px`;
  }

  // --- views -------------------------------------------------------------------------

  show(view) {
    for (const section of this.root.querySelectorAll("[data-view]")) {
      section.hidden = section.dataset.view !== view;
    }
    this.root.dataset.activeView = view;
    if (view === "call") this.layoutTiles();
  }

  showOver({ title, message, rejoin = false, reconnect = false }) {
    this.$("[data-over-title]").textContent = title;
    this.$("[data-over-message]").textContent = message || "";
    this.$("[data-over-rejoin]").hidden = !rejoin;
    this.$("[data-action='reconnect']").hidden = !reconnect;
    for (const media of this.root.querySelectorAll("video, audio")) media.srcObject = null;
    // Notices about the room (a mute, a hand) mean nothing once you're out of it.
    this.$("[data-toasts]").replaceChildren();
    this.show("over");
    document.title = `${title} · ${this.root.dataset.meetingTitle}`;
    this.$("[data-over-title]").focus();
  }

  // --- pre-join ----------------------------------------------------------------------

  setPreview(track, caption) {
    const video = this.$("[data-preview]");
    setStream(video, track);
    video.hidden = !track;
    this.$("[data-preview-empty]").hidden = Boolean(track);
    if (caption !== undefined) this.$("[data-preview-caption]").textContent = caption;
    if (track) play(video);
  }

  setMediaAlert(messages) {
    const alert = this.$("[data-media-alert]");
    const unique = [...new Set(messages.filter(Boolean))];
    alert.replaceChildren(...unique.map((text) => el("p", { text })));
    alert.hidden = unique.length === 0;
  }

  setJoinEnabled(enabled, label) {
    const button = this.$("[data-action='join']");
    button.disabled = !enabled;
    if (label) button.textContent = label;
  }

  blockWebRTC() {
    this.$("[data-webrtc-alert]").hidden = false;
    this.setJoinEnabled(false);
  }

  setPrejoinPeople(names) {
    const node = this.$("[data-prejoin-people]");
    if (!Array.isArray(names) || names.length === 0) {
      node.textContent = "No one else is here yet.";
      return;
    }
    if (names.length === 1) node.textContent = `${names[0]} is in the meeting.`;
    else if (names.length === 2) node.textContent = `${names[0]} and ${names[1]} are in the meeting.`;
    else node.textContent = `${names[0]}, ${names[1]} and ${names.length - 2} more are in the meeting.`;
  }

  setMicMeter(level, available = true) {
    const meter = this.$("[data-mic-meter]");
    meter.hidden = !available;
    const bars = meter.children;
    const lit = Math.min(bars.length, Math.round(Math.sqrt(level) * 14));
    for (let i = 0; i < bars.length; i += 1) bars[i].classList.toggle("lit", i < lit);
  }

  fillDevices(devices, selected, { speakers }) {
    for (const select of this.root.querySelectorAll("select[data-device]")) {
      const kind = select.dataset.device;
      const options = devices.filter((device) => device.kind === kind && device.deviceId);
      const labelled = options.filter((device) => device.label);
      if (labelled.length === 0) continue; // labels need permission; keep the default
      const keep = selected[kind] || select.value;
      select.replaceChildren(
        ...labelled.map((device, index) =>
          el("option", { value: device.deviceId, text: device.label || `${kind} ${index + 1}` }),
        ),
      );
      if (keep && labelled.some((device) => device.deviceId === keep)) select.value = keep;
    }
    this.$("[data-speaker-field]").hidden = !speakers;
  }

  // The pickers move into the in-call settings panel once joined.
  moveDevicePickers() {
    this.$("[data-settings-devices]").append(this.$("[data-device-pickers]"));
    this.$("[data-device-settings]").hidden = true;
  }

  // --- controls ----------------------------------------------------------------------

  // A toggle keeps its name; aria-pressed says its state, the tooltip what a click does.
  setToggle(action, on, { hint, disabled } = {}) {
    for (const button of this.root.querySelectorAll(`.control[data-action='${action}'], .round-button[data-action='${action}']`)) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.classList.toggle("is-off", !on && (action === "mic" || action === "camera"));
      if (hint) {
        const shortcut = button.classList.contains("control") ? SHORTCUTS[action] : "";
        button.title = shortcut ? `${hint} (${shortcut})` : hint;
      }
      if (disabled !== undefined) button.disabled = disabled;
    }
  }

  // The host keeps us from unmuting: the mic button stays focusable (a click says why)
  // but is marked disabled, and points at the visible note in the call bar.
  setMicHeld(held) {
    for (const button of this.root.querySelectorAll(".control[data-action='mic'], .round-button[data-action='mic']")) {
      if (held) {
        button.setAttribute("aria-disabled", "true");
        button.setAttribute("aria-describedby", "unmute-held-note");
        button.title = "You can't unmute: the host turned off unmuting";
      } else {
        button.removeAttribute("aria-disabled");
        button.removeAttribute("aria-describedby");
      }
    }
  }

  // Whether the host keeps everyone else muted: a flag in the call bar for everyone (what
  // it means for you), and for hosts "Allow unmuting" beside "Mute everyone else".
  setUnmuteLocked(locked, isHost) {
    const flag = this.$("[data-unmute-flag]");
    flag.hidden = !locked;
    this.$("[data-unmute-flag-text]").textContent = isHost
      ? "Others can't unmute"
      : "The host turned off unmuting";
    this.$("[data-action='unlock-unmute']").hidden = !(locked && isHost);
    this.$("[data-unmute-note]").textContent = locked
      ? "Others can't unmute themselves until you allow it."
      : "Mutes everyone but the hosts. They can unmute themselves unless you tick the box.";
  }

  // The "Don't let them unmute" box under "Mute everyone else".
  muteAllLocks() {
    return Boolean(this.$("[data-mute-all-lock]").checked);
  }

  hideControl(action) {
    for (const button of this.root.querySelectorAll(`[data-action='${action}']`)) button.hidden = true;
  }

  togglePanel(name) {
    const next = name && this.openPanel !== name ? name : null;
    this.openPanel = next;
    for (const panel of this.root.querySelectorAll("[data-panel]")) {
      panel.hidden = panel.dataset.panel !== next;
    }
    for (const button of this.root.querySelectorAll("[data-action='panel']")) {
      button.setAttribute("aria-pressed", button.dataset.panelName === next ? "true" : "false");
    }
    this.root.classList.toggle("panel-open", Boolean(next));
    if (next === "chat") {
      this.unreadChat = 0;
      this.updateBadges();
      const log = this.$("[data-chat-log]");
      log.scrollTop = log.scrollHeight;
      this.$("#chat-input").focus();
    } else if (next) {
      const panel = this.$(`[data-panel='${next}']`);
      const target = panel.querySelector("button:not([data-close-panel]), select") || panel.querySelector("button");
      if (target) target.focus();
    }
    this.layoutTiles();
  }

  setLayout(layout, chosen = false) {
    this.layout = layout === "speaker" ? "speaker" : "gallery";
    for (const button of this.root.querySelectorAll("[data-layout-choice]")) {
      button.setAttribute("aria-pressed", button.dataset.layoutChoice === this.layout ? "true" : "false");
    }
    if (chosen) this.onAction("layout-changed", { layout: this.layout });
    this.arrange();
  }

  setConnection(text, tone = "") {
    const node = this.$("[data-connection]");
    node.textContent = text;
    node.dataset.tone = tone;
    node.hidden = !text;
  }

  setLocked(locked, isHost) {
    this.$("[data-locked-flag]").hidden = !locked;
    const button = this.$("[data-action='lock']");
    button.setAttribute("aria-pressed", locked ? "true" : "false");
    button.textContent = locked ? "Unlock the room" : "Lock the room";
    this.$("[data-lock-note]").textContent = locked
      ? "The room is locked: nobody new can ask to join."
      : "When the room is locked, nobody new can ask to join.";
    this.$("[data-host-tools]").hidden = !isHost;
  }

  // --- notices -----------------------------------------------------------------------

  announce(text) {
    const node = this.$("[data-announcer]");
    node.textContent = "";
    setTimeout(() => { node.textContent = text; }, 50);
  }

  toast(text, { actions = [], timeout = 6_000, tone = "" } = {}) {
    const box = this.$("[data-toasts]");
    const node = el("div", { className: `toast ${tone}`, role: tone === "alert" ? "alert" : "status" }, [
      el("p", { text }),
    ]);
    const close = () => node.remove();
    if (actions.length) {
      const row = el("div", { className: "toast-actions" });
      for (const action of actions) {
        const button = el("button", { type: "button", className: "small-button", text: action.label });
        if (action.ariaLabel) button.setAttribute("aria-label", action.ariaLabel);
        button.addEventListener("click", () => {
          action.onClick();
          close();
        });
        row.append(button);
      }
      node.append(row);
    }
    const dismiss = el("button", { type: "button", className: "icon-button toast-close", "aria-label": "Dismiss" }, [icon("close")]);
    dismiss.addEventListener("click", close);
    node.append(dismiss);
    box.append(node);
    while (box.children.length > 4) box.firstElementChild.remove();
    if (timeout) setTimeout(close, timeout);
    return node;
  }

  confirm({ title, message, confirmLabel }) {
    const dialog = this.$("[data-confirm-dialog]");
    this.$("[data-confirm-title]").textContent = title;
    this.$("[data-confirm-message]").textContent = message;
    this.$("[data-confirm-button]").textContent = confirmLabel;
    if (typeof dialog.showModal !== "function") return Promise.resolve(window.confirm(`${title}\n\n${message}`));
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  // --- tiles -------------------------------------------------------------------------

  // `tiles`: [{key, peerId, source, name, isSelf, isHost, audioMuted, videoOff, hand,
  //            videoTrack, presenting}], in display order.
  renderTiles(tiles) {
    const wanted = new Set(tiles.map((tile) => tile.key));
    for (const [key, tile] of this.tiles) {
      if (!wanted.has(key)) {
        tile.video.srcObject = null;
        tile.node.remove();
        this.tiles.delete(key);
      }
    }
    for (const model of tiles) {
      let tile = this.tiles.get(model.key);
      if (!tile) {
        tile = this.createTile(model);
        this.tiles.set(model.key, tile);
      }
      this.updateTile(tile, model);
    }
    this.order = tiles.map((tile) => tile.key);
    this.arrange();
  }

  createTile(model) {
    const video = el("video", { autoplay: true, playsinline: true, muted: true });
    video.muted = true; // sound plays through the <audio> elements
    const label = el("div", { className: "tile-label" }, [
      el("span", { className: "tile-mic", title: "Microphone off" }, [icon("mic-off")]),
      el("span", { className: "tile-name" }),
    ]);
    const hand = el("span", { className: "tile-hand", title: "Hand raised" }, [icon("hand"), el("span", { className: "visually-hidden", text: "Hand raised" })]);
    const node = el("div", { className: "tile", role: "group", "data-tile": model.key, "data-peer-id": model.peerId, "data-source": model.source }, [
      el("div", { className: "tile-avatar" }, [avatar(model.name, model.peerId, "avatar avatar-tile")]),
      video,
      hand,
      label,
    ]);
    if (model.source === "screen") node.classList.add("tile-screen");
    if (model.isSelf) node.classList.add("tile-self");
    return { node, video, label, name: label.querySelector(".tile-name"), hand };
  }

  updateTile(tile, model) {
    const { node, video } = tile;
    const screen = model.source === "screen";
    const name = screen ? `${model.name}${model.isSelf ? " (you)" : ""} is presenting` : `${model.name}${model.isSelf ? " (you)" : ""}`;
    tile.name.textContent = name;
    const states = [];
    if (!screen && model.audioMuted) states.push("microphone off");
    if (!screen && model.videoOff) states.push("camera off");
    if (!screen && model.hand) states.push("hand raised");
    node.setAttribute("aria-label", states.length ? `${name}, ${states.join(", ")}` : name);
    node.classList.toggle("is-muted", !screen && model.audioMuted);
    node.classList.toggle("has-hand", !screen && model.hand);
    const showVideo = Boolean(model.videoTrack) && !(model.videoOff && !screen);
    node.classList.toggle("has-video", showVideo);
    node.classList.toggle("mirrored", model.isSelf && !screen);
    if (setStream(video, showVideo ? model.videoTrack : null) && showVideo) play(video);
    video.hidden = !showVideo;
    node.classList.toggle("is-presenting-self", Boolean(model.presenting));
    if (model.presenting && !node.querySelector(".tile-presenting")) {
      const stop = el("button", { type: "button", className: "small-button", "data-action": "screen", text: "Stop presenting" });
      node.append(el("div", { className: "tile-presenting" }, [el("p", { text: "You're presenting to everyone" }), stop]));
    }
  }

  // Featured tile (a screen share, or the speaker in speaker layout) and the rest.
  arrange() {
    const stage = this.$("[data-stage]");
    const featuredBox = this.$("[data-featured]");
    const grid = this.$("[data-tiles]");
    const order = (this.order || []).filter((key) => this.tiles.has(key));
    const screens = order.filter((key) => key.endsWith(":screen"));
    let featured = null;
    if (screens.length) featured = screens[screens.length - 1];
    else if (this.layout === "speaker" && order.length > 1) {
      const speaker = this.activeSpeaker && `${this.activeSpeaker}:camera`;
      featured = speaker && this.tiles.has(speaker) && !this.tiles.get(speaker).node.classList.contains("tile-self")
        ? speaker
        : order.find((key) => !this.tiles.get(key).node.classList.contains("tile-self")) || null;
    }
    if (featured) {
      const { node, video } = this.tiles.get(featured);
      if (node.parentElement !== featuredBox) {
        featuredBox.replaceChildren(node);
        if (video.srcObject) play(video);
      }
    } else {
      featuredBox.replaceChildren();
    }
    const rest = order.filter((key) => key !== featured);
    const current = [...grid.children].map((node) => node.dataset.tile);
    if (current.join("|") !== rest.join("|")) {
      for (const key of rest) {
        const { node, video } = this.tiles.get(key);
        grid.append(node); // DOM order is display order
        if (video.srcObject) play(video);
      }
    }
    featuredBox.hidden = !featured;
    stage.classList.toggle("has-featured", Boolean(featured));
    stage.dataset.count = String(order.length);
    this.layoutTiles();
  }

  layoutTiles() {
    const stage = this.$("[data-stage]");
    const grid = this.$("[data-tiles]");
    if (!stage || stage.classList.contains("has-featured")) {
      grid.style.removeProperty("--tile-width");
      return;
    }
    const count = grid.children.length;
    if (!count) return;
    const width = grid.clientWidth;
    const height = grid.clientHeight;
    if (!width || !height) return;
    const { tileWidth } = bestGrid(count, width, height);
    grid.style.setProperty("--tile-width", `${tileWidth}px`);
  }

  setActiveSpeaker(peerId) {
    this.activeSpeaker = peerId;
    for (const [key, tile] of this.tiles) {
      tile.node.classList.toggle("is-speaking", key === `${peerId}:camera`);
    }
    if (this.layout === "speaker") this.arrange();
  }

  setLevels(levels) {
    for (const [key, tile] of this.tiles) {
      if (!key.endsWith(":camera")) continue;
      const level = levels.get(tile.node.dataset.peerId) || 0;
      tile.node.classList.toggle("is-talking", level > 0.015);
    }
  }

  // --- remote audio ------------------------------------------------------------------

  // `tracks`: [{mid, track}] of every remote audio track.
  syncAudio(tracks) {
    const box = this.audioBox || (this.audioBox = el("div", { className: "audio-sink", "aria-hidden": "true" }));
    if (!box.isConnected) this.root.append(box);
    const wanted = new Set(tracks.map((entry) => entry.mid));
    for (const [mid, audio] of this.audios) {
      if (!wanted.has(mid)) {
        audio.srcObject = null;
        audio.remove();
        this.audios.delete(mid);
      }
    }
    for (const { mid, track } of tracks) {
      let audio = this.audios.get(mid);
      if (!audio) {
        audio = el("audio", { autoplay: true });
        this.audios.set(mid, audio);
        box.append(audio);
        if (this.speakerId && audio.setSinkId) audio.setSinkId(this.speakerId).catch(() => {});
      }
      if (setStream(audio, track)) play(audio, () => this.soundWasBlocked());
    }
  }

  soundWasBlocked() {
    if (this.soundBlocked) return;
    this.soundBlocked = true;
    this.toast("Your browser paused the sound.", {
      timeout: 0,
      actions: [{ label: "Turn sound on", onClick: () => this.resumeSound() }],
    });
  }

  resumeSound() {
    this.soundBlocked = false;
    for (const audio of this.audios.values()) play(audio, () => this.soundWasBlocked());
  }

  async setSpeaker(deviceId) {
    this.speakerId = deviceId;
    await Promise.all([...this.audios.values()].map((audio) => (audio.setSinkId ? audio.setSinkId(deviceId).catch(() => {}) : null)));
  }

  // --- people ------------------------------------------------------------------------

  renderPeople(participants, { you, isHost }) {
    const list = this.$("[data-people-list]");
    const items = participants.map((person) => {
      const self = person.id === you;
      const name = el("span", { className: "person-name" }, [
        el("span", { text: person.name }),
        self ? el("span", { className: "person-note", text: " (you)" }) : null,
        person.is_host ? el("span", { className: "tag", text: "Host" }) : null,
      ]);
      const state = el("span", { className: "person-state" });
      if (person.hand_raised) state.append(el("span", { className: "state-icon hand", title: "Hand raised" }, [icon("hand"), el("span", { className: "visually-hidden", text: "Hand raised" })]));
      if (person.screen_sharing) state.append(el("span", { className: "state-icon", title: "Presenting" }, [icon("screen"), el("span", { className: "visually-hidden", text: "Presenting" })]));
      state.append(el("span", { className: "state-icon", title: person.audio_muted ? "Microphone off" : "Microphone on" }, [
        icon(person.audio_muted ? "mic-off" : "mic"),
        el("span", { className: "visually-hidden", text: person.audio_muted ? "Microphone off" : "Microphone on" }),
      ]));
      if (person.video_off) state.append(el("span", { className: "state-icon", title: "Camera off" }, [icon("cam-off"), el("span", { className: "visually-hidden", text: "Camera off" })]));
      const item = el("li", { className: "person", "data-person": person.id }, [avatar(person.name, person.id, "avatar avatar-small"), name, state]);
      if (isHost && !self) {
        const tools = el("span", { className: "person-tools" });
        if (!person.audio_muted) {
          tools.append(el("button", { type: "button", className: "icon-button person-tool", "data-action": "mute", "data-target": person.id, "data-name": person.name, "aria-label": `Mute ${person.name}`, title: `Mute ${person.name}` }, [icon("mic-off")]));
        }
        tools.append(el("button", { type: "button", className: "icon-button person-tool danger-tool", "data-action": "remove", "data-target": person.id, "data-name": person.name, "aria-label": `Remove ${person.name}`, title: `Remove ${person.name}` }, [icon("person-remove")]));
        item.append(tools);
      }
      return item;
    });
    this.replaceKeepingFocus(list, items);
    this.$("[data-people-count]").textContent = String(participants.length);
  }

  renderLobby(waiting, isHost) {
    const section = this.$("[data-lobby-section]");
    section.hidden = !isHost || waiting.length === 0;
    this.$("[data-lobby-count]").textContent = String(waiting.length);
    const items = waiting.map((person) =>
      el("li", { className: "person waiting", "data-waiting": person.id }, [
        avatar(person.name, person.id, "avatar avatar-small"),
        el("span", { className: "person-name" }, [
          el("span", { text: person.name }),
          el("span", { className: "person-detail", text: [person.email, `waiting ${waitedFor(person.since)}`].filter(Boolean).join(" · ") }),
        ]),
        el("span", { className: "person-tools" }, [
          el("button", { type: "button", className: "small-button", "data-action": "deny", "data-target": person.id, "data-name": person.name, "aria-label": `Deny ${person.name}`, text: "Deny" }),
          el("button", { type: "button", className: "small-button primary", "data-action": "admit", "data-target": person.id, "data-name": person.name, "aria-label": `Admit ${person.name}`, text: "Admit" }),
        ]),
      ]),
    );
    this.replaceKeepingFocus(this.$("[data-lobby-list]"), items);
    this.peopleBadge = isHost ? waiting.length : 0;
    this.updateBadges();
    // Tell the host about newcomers even with the panel closed.
    const ids = new Set(waiting.map((person) => person.id));
    if (isHost) {
      for (const person of waiting) {
        if (this.lobbyKnown.has(person.id)) continue;
        if (this.openPanel !== "people") {
          this.lobbyToasts.set(person.id, this.toast(`${person.name} wants to join.`, {
            timeout: 12_000,
            actions: [
              { label: "Admit", ariaLabel: `Admit ${person.name} (from the notice)`, onClick: () => this.onAction("admit", { target: person.id, name: person.name }) },
              { label: "See all", onClick: () => this.openPanel !== "people" && this.togglePanel("people") },
            ],
          }));
        }
      }
    }
    for (const [id, toast] of this.lobbyToasts) {
      if (!ids.has(id)) {
        toast.remove();
        this.lobbyToasts.delete(id);
      }
    }
    this.lobbyKnown = ids;
  }

  // Re-render a list without losing keyboard focus: back to the same button if it is
  // still there, else to the next person's, else to the panel's heading.
  replaceKeepingFocus(list, items) {
    const active = document.activeElement;
    const focused = active && list.contains(active) && active.dataset.action ? active : null;
    const row = focused ? [...list.children].indexOf(focused.closest("li")) : -1;
    list.replaceChildren(...items);
    if (!focused) return;
    const same = `[data-action='${focused.dataset.action}'][data-target='${CSS.escape(focused.dataset.target || "")}']`;
    const next = list.children[Math.min(row, list.children.length - 1)];
    const target = list.querySelector(same) || (next && next.querySelector("button"));
    if (target) {
      target.focus();
      return;
    }
    const heading = list.closest("[data-panel]").querySelector("h2");
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }

  updateBadges() {
    const chat = this.$("[data-chat-badge]");
    chat.hidden = this.unreadChat === 0;
    chat.textContent = this.unreadChat > 9 ? "9+" : String(this.unreadChat);
    const people = this.$("[data-people-badge]");
    people.hidden = !this.peopleBadge;
    people.textContent = String(this.peopleBadge || "");
    const chatButton = this.$("[data-panel-name='chat']");
    chatButton.setAttribute("aria-label", this.unreadChat ? `Chat, ${this.unreadChat} unread` : "Chat");
    const peopleButton = this.$("[data-panel-name='people']");
    peopleButton.setAttribute("aria-label", this.peopleBadge ? `People, ${this.peopleBadge} waiting to join` : "People");
  }

  // --- chat --------------------------------------------------------------------------

  addChat({ from, text, at, mine }) {
    const log = this.$("[data-chat-log]");
    const when = at ? new Date(at) : new Date();
    const time = Number.isNaN(when.getTime()) ? new Date() : when;
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const grouped = this.lastChat && this.lastChat.fromId === from.id && time - this.lastChat.time < CHAT_GROUP_MS;
    const item = el("li", { className: `chat-message${mine ? " mine" : ""}${grouped ? " grouped" : ""}` });
    if (!grouped) {
      item.append(el("div", { className: "chat-meta" }, [
        el("span", { className: "chat-from", text: mine ? "You" : from.name }),
        el("time", { datetime: time.toISOString(), text: clockTime(time) }),
      ]));
    } else {
      item.append(el("span", { className: "visually-hidden", text: `${mine ? "You" : from.name}, ${clockTime(time)}: ` }));
    }
    item.append(el("p", { className: "chat-text", text }));
    log.append(item);
    this.lastChat = { fromId: from.id, time };
    if (nearBottom || mine) log.scrollTop = log.scrollHeight;
    if (!mine && this.openPanel !== "chat") {
      this.unreadChat += 1;
      this.updateBadges();
      this.toast(`${from.name}: ${text.length > 90 ? `${text.slice(0, 90)}…` : text}`, {
        timeout: 5_000,
        actions: [{ label: "Reply", onClick: () => this.openPanel !== "chat" && this.togglePanel("chat") }],
      });
    }
  }
}
