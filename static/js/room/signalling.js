// The room's websocket (protocol: meetings/room/protocol.py).
//
// One connection at a time. After every (re)connect it waits for the snapshot the server
// sends on accepting the socket (a "hello" would only cost a second one). Room events
// carry a sequence number, and a gap means a message was lost on the way, so we ask for
// a fresh snapshot. A heartbeat every 15 s keeps the attendance
// session open. When the socket drops we reconnect with backoff, fetching a fresh guest
// ticket from the lobby status first (tickets expire after ten minutes). The close codes
// that mean "you're out" end the loop, and so does a 4001 whose reason says the session
// itself is over (left from another tab, timed out, removed, the meeting over): only a
// ticket problem is worth another try.

export const CLOSE = Object.freeze({
  NORMAL: 1000,
  NOT_ALLOWED: 4001,
  REMOVED: 4003,
  ENDED: 4004,
  FLOODING: 4008,
  REPLACED: 4009,
});

const HEARTBEAT_MS = 15_000;
const BACKOFF_MS = [400, 1_000, 2_000, 4_000, 8_000, 12_000];
const MAX_NOT_ALLOWED_RETRIES = 2;
const STATUS_TIMEOUT_MS = 8_000;
const OFFLINE_RESTART_MS = 2_000;

// The reasons (error.code) sent before a 4001 that no fresh ticket can fix.
const FINAL_REFUSALS = new Set(["session_closed", "not_admitted", "wrong_user", "wrong_meeting", "meeting_over"]);

// Events (all CustomEvents, the payload in `detail`):
//   "open"        {connectionId}: the socket is open (its snapshot is on the way)
//   "connection"  {state: "connecting" | "open" | "reconnecting" | "offline"}
//   "message"     a server message, in order, duplicates and stale events dropped
//   "snapshot"    a snapshot; {first: true} once per websocket connection
//   "out"         {reason: "removed" | "ended" | "replaced" | "not_allowed" | "left" | "closed",
//                  status?, error?}: "closed" carries the server's error (its code and message)
export class Signalling extends EventTarget {
  constructor({ wsPath, ticket, statusUrl }) {
    super();
    this.wsPath = wsPath;
    this.ticket = ticket;
    this.statusUrl = statusUrl;
    this.socket = null;
    this.lastSeq = 0;
    this.attempt = 0;
    this.notAllowedRetries = 0;
    this.stopped = false;
    this.awaitingSnapshot = true;
    this.early = [];
    this.resyncPending = false;
    this.heartbeat = null;
    this.reconnectTimer = null;
    this.connectionId = 0;
    this.offlineSince = null;
    this.refusal = null; // the latest error of the current connection that may explain its close
    this.onOnline = () => this.backOnline();
    this.onOffline = () => {
      this.offlineSince = Date.now();
      this.emit("connection", { state: "offline" });
    };
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  url() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.ticket ? `?ticket=${encodeURIComponent(this.ticket)}` : "";
    return `${scheme}//${window.location.host}${this.wsPath}${query}`;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  open() {
    clearTimeout(this.reconnectTimer);
    this.emit("connection", { state: this.attempt === 0 ? "connecting" : "reconnecting" });
    const socket = new WebSocket(this.url());
    const id = ++this.connectionId;
    this.socket = socket;
    this.awaitingSnapshot = true;
    this.early = [];
    this.resyncPending = false;
    this.refusal = null;
    socket.addEventListener("open", () => {
      if (id !== this.connectionId) return;
      this.emit("open", { connectionId: id }); // a media offer made meanwhile goes first
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.send({ type: "heartbeat" }), HEARTBEAT_MS);
    });
    socket.addEventListener("message", (event) => {
      if (id !== this.connectionId) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message.type === "string") this.receive(message);
    });
    socket.addEventListener("close", (event) => {
      if (id !== this.connectionId) return;
      clearInterval(this.heartbeat);
      this.socket = null;
      this.closed(event.code);
    });
  }

  send(message) {
    if (!this.isOpen()) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  // Leaving on purpose: tell the server, then close without reconnecting.
  leave() {
    this.send({ type: "leave" });
    this.stop();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnectTimer);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    const socket = this.socket;
    this.socket = null;
    this.connectionId += 1;
    if (socket) socket.close(CLOSE.NORMAL, "bye");
  }

  // Drop the connection and open a new one now: the server then starts a fresh media
  // peer for us (the client's way to "start over" when its peer connection failed).
  restart() {
    if (this.stopped) return;
    const socket = this.socket;
    this.socket = null;
    this.connectionId += 1;
    clearInterval(this.heartbeat);
    if (socket) socket.close(CLOSE.NORMAL, "restart");
    this.attempt = Math.max(this.attempt, 1);
    this.emit("connection", { state: "reconnecting" });
    this.reconnect(0); // with a fresh ticket: the page's may have expired by now
  }

  // The network is back. A socket that looks open after a longer outage may be dead
  // without knowing it (no FIN ever came): start over rather than wait for TCP to notice.
  backOnline() {
    const since = this.offlineSince;
    this.offlineSince = null;
    if (this.stopped) return;
    if (!this.isOpen()) this.reconnectNow();
    else if (since !== null && Date.now() - since > OFFLINE_RESTART_MS) this.restart();
    else this.emit("connection", { state: "open" });
  }

  reconnectNow() {
    clearTimeout(this.reconnectTimer);
    this.attempt = Math.max(this.attempt, 1);
    this.reconnect(0);
  }

  receive(message) {
    if (message.type === "error" && FINAL_REFUSALS.has(message.code)) this.refusal = message;
    if (message.type === "snapshot") {
      const first = this.awaitingSnapshot;
      this.awaitingSnapshot = false;
      this.resyncPending = false;
      this.attempt = 0;
      this.notAllowedRetries = 0;
      if (typeof message.seq === "number") this.lastSeq = message.seq;
      this.emit("connection", { state: "open" });
      this.emit("snapshot", { snapshot: message, first });
      const early = this.early;
      this.early = [];
      for (const queued of early) this.sequenced(queued);
      return;
    }
    if (typeof message.seq === "number") {
      if (this.awaitingSnapshot) {
        this.early.push(message); // applied after the snapshot, if newer than it
        return;
      }
      this.sequenced(message);
      return;
    }
    this.emit("message", message);
  }

  sequenced(message) {
    if (message.seq <= this.lastSeq) return; // already in the snapshot, or a duplicate
    if (message.seq > this.lastSeq + 1 && !this.resyncPending) {
      this.resyncPending = true;
      this.send({ type: "resync" });
    }
    this.lastSeq = message.seq;
    this.emit("message", message);
  }

  closed(code) {
    if (this.stopped) return;
    if (code === CLOSE.REMOVED) return this.out("removed");
    if (code === CLOSE.ENDED) return this.out("ended");
    if (code === CLOSE.REPLACED) return this.out("replaced");
    if (code === CLOSE.NOT_ALLOWED) {
      this.notAllowedRetries += 1;
      // The session is over (the server said why just before closing): no reconnecting.
      if (this.refusal) return this.settleRefusal(this.refusal);
      // Usually an expired ticket: fetch a fresh one, unless that keeps failing.
      if (this.notAllowedRetries > MAX_NOT_ALLOWED_RETRIES) return this.out("not_allowed");
    }
    this.attempt += 1;
    const base = BACKOFF_MS[Math.min(this.attempt - 1, BACKOFF_MS.length - 1)];
    const delay = code === CLOSE.FLOODING ? 5_000 : base * (0.75 + Math.random() * 0.5);
    this.emit("connection", { state: navigator.onLine === false ? "offline" : "reconnecting" });
    this.reconnect(delay);
  }

  // Closed with a reason that says the session is over. The lobby status has the last
  // word, once: if it still lets us in, that was a race and we go back in; otherwise we
  // are out, with the server's reason (and whether joining again makes sense).
  async settleRefusal(error) {
    clearTimeout(this.reconnectTimer);
    let status = null;
    try {
      status = await this.fetchStatus();
    } catch {
      // Unreachable: the server's reason stands.
    }
    if (this.stopped) return;
    if (status && status.state === "admitted" && status.ticket && this.notAllowedRetries <= MAX_NOT_ALLOWED_RETRIES) {
      this.ticket = status.ticket;
      this.attempt = Math.max(this.attempt, 1);
      this.open();
      return;
    }
    this.out("closed", status, error);
  }

  out(reason, status = null, error = null) {
    this.stop();
    this.emit("out", { reason, status, error });
  }

  reconnect(delay) {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(async () => {
      if (this.stopped) return;
      let status;
      try {
        status = await this.fetchStatus();
      } catch {
        this.closed(0); // still unreachable: back off further
        return;
      }
      if (this.stopped) return;
      if (status.state === "admitted" && status.ticket) {
        this.ticket = status.ticket;
        this.open();
      } else {
        this.out(status.state === "left" ? "left" : "not_allowed", status);
      }
    }, delay);
  }

  async fetchStatus() {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), STATUS_TIMEOUT_MS);
    try {
      const response = await fetch(this.statusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
        signal: controller.signal,
      });
      if (response.status >= 500) throw new Error(`status ${response.status}`);
      return await response.json();
    } finally {
      clearTimeout(timer);
    }
  }
}
