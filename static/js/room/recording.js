// Recording in the room: the host's Record button, the banner everyone sees while a
// recording runs, the consent dialog and the tone. Protocol: meetings/room/protocol.py.
//
// Only the host who starts a recording is recorded without being asked. Everyone else is
// recorded only once they agree; until then, and after "Don't record me", the media server
// writes nothing of theirs (their media still reaches the others). Someone who joins while
// a recording runs is asked before their camera and microphone are published: main.js
// holds publishing back until onJoinChoice(choice) is called, exactly once per page:
//   "free"      no recording, or this participant already decided: publish as chosen
//   "accepted"  "Record me and join": consent sent, publish as chosen
//   "declined"  "Join with camera and microphone off": consent sent, publish nothing
//   "later"     the dialog was dismissed (Esc): nothing sent, so not recorded; publish nothing
//
// Older servers send "recording": false and no "recording_control": no button, no banner.

const REQUEST_TIMEOUT_MS = 10_000; // the host's start/stop waits this long for its answer
const CHIME_STALE_MS = 10_000; // a tone that could not play by then is dropped
const GESTURES = ["pointerdown", "keydown"];

// "recording": null | false | {id, started_at, consent} -> null | that object
function runningOf(value) {
  return value && typeof value === "object" && typeof value.id === "string" && value.id ? value : null;
}

function decisionOf(value) {
  return value === "accepted" || value === "declined" ? value : null;
}

// Only links within the site or to an http(s) page go into href.
function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

export function formatElapsed(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

// Two soft beeps (~0.4 s). Browsers may keep an AudioContext suspended until the user
// interacts with the page: then the tone waits for the next click or key press, and is
// dropped if that comes too late to mean anything. Sound is a nicety: nothing here throws.
class Chime {
  constructor() {
    this.context = null;
    this.waitingSince = null;
    this.armed = null;
  }

  play() {
    try {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (typeof Context !== "function") return;
      if (!this.context) this.context = new Context();
      if (this.context.state === "running") {
        this.beep();
        return;
      }
      this.waitingSince = Date.now();
      this.resume();
      this.armGesture();
    } catch {
      // no tone, then
    }
  }

  resume() {
    const context = this.context;
    if (!context || context.state === "closed") return;
    Promise.resolve(context.resume()).then(() => this.flush(), () => {});
  }

  flush() {
    if (this.waitingSince === null || !this.context || this.context.state !== "running") return;
    const fresh = Date.now() - this.waitingSince < CHIME_STALE_MS;
    this.waitingSince = null;
    if (fresh) this.beep();
  }

  armGesture() {
    if (this.armed) return;
    this.armed = () => {
      this.disarm();
      this.resume();
    };
    for (const type of GESTURES) window.addEventListener(type, this.armed, true);
  }

  disarm() {
    if (!this.armed) return;
    for (const type of GESTURES) window.removeEventListener(type, this.armed, true);
    this.armed = null;
  }

  beep() {
    try {
      const context = this.context;
      const start = context.currentTime + 0.02;
      for (const [offset, frequency] of [[0, 660], [0.22, 880]]) {
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.type = "sine";
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.12, start + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.16);
        oscillator.connect(gain);
        gain.connect(context.destination);
        oscillator.start(start + offset);
        oscillator.stop(start + offset + 0.18);
      }
    } catch {
      // no tone, then
    }
  }

  close() {
    this.disarm();
    this.waitingSince = null;
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }
}

export class RoomRecording {
  // ui: the RoomUI (for toast and announce); send(message) -> false when not connected;
  // onJoinChoice(choice): see the top of this file.
  constructor(root, { ui, send, onJoinChoice }) {
    this.root = root;
    this.ui = ui;
    this.send = send;
    this.onJoinChoice = onJoinChoice;
    this.$ = (selector) => root.querySelector(selector);
    this.you = null;
    this.isHost = false;
    this.control = null; // hosts: {allowed, reason, upgrade_url}; null hides the button
    this.current = null; // the running recording: {id, since (local clock, ms)}
    this.decisions = new Map(); // recording id -> this participant's "accepted" | "declined"
    this.pending = null; // {id, decision} sent, not yet confirmed by the server
    this.later = new Set(); // recording ids whose dialog was dismissed without a choice
    this.asking = null; // while the dialog is open: {mode: "join" | "meeting", id}
    this.closing = 0; // closes of ours whose (asynchronous) close event is still to come
    this.gateOpen = false; // onJoinChoice was called
    this.requested = null; // the host's "start" | "stop" awaiting its answer
    this.requestTimer = null;
    this.ticker = null;
    this.chime = new Chime();
    this.wire();
  }

  // --- wiring ------------------------------------------------------------------------

  wire() {
    const control = this.$("[data-rec-control]");
    this.$("[data-rec-toggle]").addEventListener("click", () => this.toggle());
    this.$("[data-rec-panel-toggle]").addEventListener("click", () => this.toggle({ fromPanel: true }));
    // The explanation of a disabled button: on hover and focus (CSS), pinned by a click,
    // dismissed with Esc.
    control.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      control.classList.add("is-dismissed");
      control.classList.remove("is-pinned");
    });
    control.addEventListener("focusout", (event) => {
      if (control.contains(event.relatedTarget)) return;
      control.classList.remove("is-dismissed", "is-pinned");
    });
    control.addEventListener("mouseleave", () => control.classList.remove("is-dismissed"));
    for (const button of this.root.querySelectorAll("[data-rec-answer]")) {
      button.addEventListener("click", () => this.answer(button.dataset.recAnswer));
    }
    for (const button of this.root.querySelectorAll("[data-rec-choose]")) {
      button.addEventListener("click", () => this.choose(button.dataset.recChoose));
    }
    // Esc (or anything else that closes the dialog without an answer) is "not now": the
    // participant is not recorded and can choose from the banner.
    this.$("[data-rec-dialog]").addEventListener("close", () => {
      if (this.closing > 0) this.closing -= 1;
      else if (this.asking) this.dismissed();
    });
  }

  // --- what the server says ----------------------------------------------------------

  applySnapshot(snapshot, { first = false } = {}) {
    this.you = snapshot.you || this.you;
    this.isHost = Boolean(snapshot.is_host);
    const control = snapshot.recording_control;
    this.control = this.isHost && control && typeof control === "object" ? control : null;
    const running = runningOf(snapshot.recording);
    if (running) {
      const server = decisionOf(running.consent);
      const pending = this.pending && this.pending.id === running.id ? this.pending : null;
      if (pending && server === pending.decision) this.pending = null;
      else if (pending && first) this.sendDecision(running.id, pending.decision); // lost with the old connection
      if (server && !this.pendingFor(running.id)) this.decisions.set(running.id, server);
    }
    this.setCurrent(running, { live: false });
    this.askIfNeeded();
    this.render();
  }

  // Returns true for the messages it handles.
  receive(message) {
    switch (message.type) {
      case "recording_started": {
        const running = runningOf(message.recording);
        if (!running) return true;
        const mine = this.requested === "start" || (this.you && running.started_by === this.you);
        if (mine && !this.decisionFor(running.id)) this.decisions.set(running.id, "accepted");
        if (this.requested === "start") this.settle();
        this.setCurrent(running, { live: true });
        this.askIfNeeded();
        this.render();
        return true;
      }
      case "recording_stopped": {
        const stopped = message.recording && message.recording.id;
        if (this.current && (!stopped || stopped === this.current.id)) this.setCurrent(null, { live: true });
        if (this.requested === "stop") this.settle();
        this.render();
        return true;
      }
      case "recording_consent": {
        const decision = decisionOf(message.consent);
        const id = message.recording;
        if (!decision || typeof id !== "string") return true;
        if (this.pending && this.pending.id === id && this.pending.decision === decision) this.pending = null;
        if (!this.pendingFor(id)) this.decisions.set(id, decision);
        if (this.asking && this.asking.id === id) this.settleDialog(decision);
        this.render();
        return true;
      }
      default:
        return false;
    }
  }

  // An error answering a recording message (main.js shows its text). The room may have
  // moved on meanwhile: ask for the whole picture again.
  refused(message) {
    if (message.in_reply_to === "recording") {
      this.settle();
    } else if (message.in_reply_to === "recording_consent") {
      this.pending = null;
    } else {
      return;
    }
    this.send({ type: "resync" });
    this.render();
  }

  // --- the running recording ---------------------------------------------------------

  setCurrent(running, { live }) {
    const before = this.current;
    if (before && (!running || running.id !== before.id)) {
      this.current = null;
      this.stopTicker();
      if (this.asking && this.asking.id === before.id) this.settleDialog(null);
      this.ui.toast("Recording stopped.", { timeout: 5_000 });
    }
    if (!running || (before && running.id === before.id)) return;
    // Elapsed time from the server's start, unless this is the live announcement (then
    // now is the start, whatever the two clocks say).
    const parsed = Date.parse(running.started_at);
    const since = live || !Number.isFinite(parsed) ? Date.now() : Math.min(parsed, Date.now());
    this.current = { id: running.id, since };
    this.startTicker();
    this.chime.play();
    this.ui.announce("This meeting is being recorded.");
  }

  pendingFor(id) {
    return this.pending && this.pending.id === id ? this.pending.decision : null;
  }

  decisionFor(id) {
    return this.pendingFor(id) || this.decisions.get(id) || null;
  }

  // Ask whoever hasn't decided about the running recording: before publishing (the join
  // dialog) or, already in, while their media goes on (not recorded until they agree).
  askIfNeeded() {
    const current = this.current;
    if (this.asking) {
      // Answered meanwhile from somewhere the server knows about.
      const known = this.decisionFor(this.asking.id);
      if (known) this.settleDialog(known);
      return;
    }
    if (!current || this.decisionFor(current.id)) {
      this.openGate("free");
      return;
    }
    if (!this.gateOpen) this.ask("join", current.id);
    else if (!this.later.has(current.id)) this.ask("meeting", current.id);
  }

  openGate(choice) {
    if (this.gateOpen) return;
    this.gateOpen = true;
    this.onJoinChoice(choice);
  }

  // --- the dialog --------------------------------------------------------------------

  ask(mode, id) {
    const dialog = this.$("[data-rec-dialog]");
    const join = mode === "join";
    this.$("[data-rec-dialog-title]").textContent = join ? "This meeting is being recorded" : "Recording started";
    this.$("[data-rec-dialog-message]").textContent = join
      ? "Your video, audio and shared screen will be recorded only if you agree."
      : "The host started recording. Your video, audio and shared screen will be recorded only if you agree.";
    this.$("[data-rec-dialog-note]").textContent = join
      ? "If you don't, you join with your camera and microphone off. You can turn them on later and still won't be recorded. You can change your mind at any time from the recording banner."
      : "Until you choose, you're not recorded. You can change your mind at any time from the recording banner.";
    this.$("[data-rec-answer='accepted']").textContent = join ? "Record me and join" : "Record me";
    this.$("[data-rec-answer='declined']").textContent = join ? "Join with camera and microphone off" : "Don't record me";
    this.asking = { mode, id };
    if (!dialog.open) {
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    }
    // Focus on the question, not on an answer: Enter must not choose by accident.
    this.$("[data-rec-dialog-title]").focus();
    this.render();
  }

  closeDialog() {
    this.asking = null;
    const dialog = this.$("[data-rec-dialog]");
    if (!dialog.open) return;
    if (typeof dialog.close === "function") {
      this.closing += 1; // its close event is ours, not a dismissal
      dialog.close();
    } else {
      dialog.removeAttribute("open");
    }
  }

  // The dialog's question got its answer elsewhere (decision) or went away (null).
  settleDialog(decision) {
    const mode = this.asking && this.asking.mode;
    this.closeDialog();
    if (mode === "join") this.openGate(decision || "free");
  }

  answer(decision) {
    if (!this.asking) return;
    const { mode, id } = this.asking;
    this.closeDialog();
    if (decisionOf(decision) && this.current && this.current.id === id) {
      this.decide(id, decision);
      this.ui.announce(decision === "accepted" ? "You're being recorded." : "You're not being recorded.");
    }
    if (mode === "join") this.openGate(decision);
    this.render();
  }

  dismissed() {
    const { mode, id } = this.asking;
    this.asking = null;
    this.later.add(id);
    this.ui.announce("You're not being recorded. You can choose from the recording banner.");
    if (mode === "join") this.openGate("later");
    this.render();
  }

  // --- choices -----------------------------------------------------------------------

  // From the banner: change (or make) this participant's decision.
  choose(decision) {
    if (!this.current || !decisionOf(decision)) return;
    if (!this.decide(this.current.id, decision)) {
      this.ui.toast("Not connected: your choice will be sent when you're back.", { tone: "alert" });
    }
    this.ui.announce(decision === "accepted" ? "You're being recorded." : "You're not being recorded.");
    this.render();
  }

  // Remembered at once (and sent again after a reconnect until the server confirms it).
  decide(id, decision) {
    this.pending = { id, decision };
    this.decisions.set(id, decision);
    return this.sendDecision(id, decision);
  }

  sendDecision(id, decision) {
    return this.send({ type: "recording_consent", recording: id, accepted: decision === "accepted" });
  }

  // The host's Record button (in the control bar, or in the people panel's host tools).
  toggle({ fromPanel = false } = {}) {
    const control = this.$("[data-rec-control]");
    if (this.requested) return;
    if (!this.current && !(this.control && this.control.allowed)) {
      if (fromPanel) return; // the reason is right below it
      control.classList.remove("is-dismissed");
      control.classList.add("is-pinned");
      return;
    }
    const action = this.current ? "stop" : "start";
    if (!this.send({ type: "recording", action })) {
      this.ui.toast("Not connected: try again in a moment.", { tone: "alert" });
      return;
    }
    this.requested = action;
    clearTimeout(this.requestTimer);
    this.requestTimer = setTimeout(() => this.settle(), REQUEST_TIMEOUT_MS);
    this.render();
  }

  settle() {
    clearTimeout(this.requestTimer);
    this.requested = null;
    this.render();
  }

  // --- the page ----------------------------------------------------------------------

  startTicker() {
    this.stopTicker();
    this.tick();
    this.ticker = setInterval(() => this.tick(), 1_000);
  }

  stopTicker() {
    clearInterval(this.ticker);
    this.ticker = null;
  }

  tick() {
    if (!this.current) return;
    this.$("[data-rec-elapsed]").textContent = formatElapsed(Date.now() - this.current.since);
  }

  render() {
    this.renderBanner();
    this.renderControl();
  }

  renderBanner() {
    const current = this.current;
    this.$("[data-rec-banner]").hidden = !current;
    if (!current) return;
    const decision = this.decisionFor(current.id);
    this.$("[data-rec-self]").textContent = decision === "accepted"
      ? "You're being recorded."
      : "You're not being recorded.";
    const accept = this.$("[data-rec-choose='accepted']");
    const decline = this.$("[data-rec-choose='declined']");
    accept.hidden = Boolean(this.asking) || decision === "accepted";
    decline.hidden = Boolean(this.asking) || decision === "declined";
    decline.textContent = decision === "accepted" ? "Stop recording me" : "Don't record me";
    this.tick();
  }

  renderControl() {
    const wrapper = this.$("[data-rec-control]");
    const button = this.$("[data-rec-toggle]");
    const panelButton = this.$("[data-rec-panel-toggle]");
    const control = this.control;
    wrapper.hidden = !control;
    panelButton.hidden = !control;
    const unavailableNote = this.$("[data-rec-unavailable]");
    if (!control) {
      unavailableNote.hidden = true;
      return;
    }
    const recording = Boolean(this.current);
    // A running recording can always be stopped, whatever the plan says now.
    const unavailable = !recording && !control.allowed;
    button.setAttribute("aria-pressed", recording ? "true" : "false");
    button.classList.toggle("is-recording", recording);
    if (unavailable) {
      button.setAttribute("aria-disabled", "true");
      button.setAttribute("aria-describedby", "rec-control-note");
      button.removeAttribute("title");
    } else {
      button.removeAttribute("aria-disabled");
      button.removeAttribute("aria-describedby");
      button.title = recording ? "Stop recording" : "Start recording";
    }
    if (this.requested) button.setAttribute("aria-busy", "true");
    else button.removeAttribute("aria-busy");
    panelButton.textContent = recording ? "Stop recording" : "Start recording";
    panelButton.setAttribute("aria-pressed", recording ? "true" : "false");
    if (unavailable) {
      panelButton.setAttribute("aria-disabled", "true");
      panelButton.setAttribute("aria-describedby", "rec-unavailable-note");
    } else {
      panelButton.removeAttribute("aria-disabled");
      panelButton.removeAttribute("aria-describedby");
    }
    wrapper.classList.toggle("is-unavailable", unavailable);
    if (!unavailable) wrapper.classList.remove("is-pinned", "is-dismissed");

    const reason = control.reason || "Recording isn't available for this meeting.";
    const upgrade = safeUrl(control.upgrade_url);
    for (const [text, link] of [
      [this.$("[data-rec-reason]"), this.$("[data-rec-upgrade]")],
      [this.$("[data-rec-unavailable-reason]"), this.$("[data-rec-unavailable-upgrade]")],
    ]) {
      text.textContent = reason;
      link.hidden = !upgrade;
      if (upgrade) link.href = upgrade;
      else link.removeAttribute("href");
    }
    unavailableNote.hidden = !unavailable;
  }

  close() {
    this.stopTicker();
    clearTimeout(this.requestTimer);
    this.closeDialog();
    this.current = null;
    this.$("[data-rec-banner]").hidden = true;
    this.chime.close();
  }
}
