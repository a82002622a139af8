// The media of a room whose sitting runs on Janus (the snapshot's "media_engine"):
// two RTCPeerConnections, still signalled only over our websocket, each message naming
// its connection in "pc" (see meetings/room/gateways/janus_peer.py):
// - "publish": what we send. We offer (mic, camera, screen, with "sources"), the server
//   answers; every later change (screen share on/off) is a new offer of ours.
// - "subscribe": everyone else, in one connection. The server offers (with a "tracks"
//   message first, mapping its mids to participants) whenever someone publishes or
//   leaves, and we answer.
// Same interface and events as MediaConnection, so the room need not know the engine.

import { MediaConnection } from "./media.js";

export class JanusMediaConnection extends EventTarget {
  constructor({ iceServers = [], send, local, publishing = true }) {
    super();
    const options = { iceServers, send, local, align: false };
    this.publisher = new MediaConnection({ ...options, publishing, pc: "publish" });
    this.subscriber = new MediaConnection({ ...options, publishing: false, pc: "subscribe" });
    for (const connection of [this.publisher, this.subscriber]) {
      connection.addEventListener("remote", () => this.emit("remote"));
      connection.addEventListener("failed", () => this.emit("failed"));
    }
    // The room shows one state: what we send is the one people notice first.
    this.publisher.addEventListener("state", (event) => this.emit("state", event.detail));
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get peerConnections() {
    return [...this.publisher.peerConnections, ...this.subscriber.peerConnections];
  }

  get closed() {
    return this.publisher.closed;
  }

  start() {
    this.publisher.start(); // the subscriber waits for the server's first offer
  }

  handle(signal) {
    return (signal.pc === "subscribe" ? this.subscriber : this.publisher).handle(signal);
  }

  replaceTrack(kind, track) {
    return this.publisher.replaceTrack(kind, track);
  }

  setPublishing(on) {
    return this.publisher.setPublishing(on);
  }

  shareScreen(track) {
    return this.publisher.shareScreen(track);
  }

  stopScreen() {
    return this.publisher.stopScreen();
  }

  remoteTracks() {
    return this.subscriber.remoteTracks();
  }

  close() {
    this.publisher.close();
    this.subscriber.close();
  }
}
