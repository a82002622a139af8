// Audio levels and the active speaker, from WebAudio AnalyserNodes.
//
// One analyser per audio track (ours and everyone else's). A timer, not
// requestAnimationFrame, samples them, so this keeps working in a background tab.
// The active speaker changes only when someone else is clearly louder for a moment,
// so the highlight doesn't flicker between people who talk over each other.

const SAMPLE_MS = 120;
const SPEAKING_LEVEL = 0.015; // RMS of a float signal in [-1, 1]
const SWITCH_AFTER_SAMPLES = 3;
const DECAY = 0.8;

export class LevelMeter {
  constructor({ onLevels, onActiveSpeaker }) {
    this.onLevels = onLevels;
    this.onActiveSpeaker = onActiveSpeaker;
    this.context = null;
    this.sources = new Map(); // id -> {track, node, analyser, buffer, level}
    this.active = null;
    this.challenger = null;
    this.challengerCount = 0;
    this.timer = null;
  }

  available() {
    return typeof window.AudioContext === "function" || typeof window.webkitAudioContext === "function";
  }

  // Call from a user gesture (the Join button): browsers start audio contexts suspended.
  resume() {
    if (!this.available()) return;
    if (!this.context) {
      const Context = window.AudioContext || window.webkitAudioContext;
      this.context = new Context();
    }
    if (this.context.state === "suspended") this.context.resume().catch(() => {});
    if (!this.timer) this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  watch(id, track) {
    const current = this.sources.get(id);
    if (current && current.track === track) return;
    this.unwatch(id);
    if (!track || !this.available()) return;
    if (!this.context) this.resume();
    try {
      const node = this.context.createMediaStreamSource(new MediaStream([track]));
      const analyser = this.context.createAnalyser();
      analyser.fftSize = 512;
      analyser.smoothingTimeConstant = 0.3;
      node.connect(analyser); // not to the destination: <audio> elements play the sound
      this.sources.set(id, { track, node, analyser, buffer: new Float32Array(analyser.fftSize), level: 0 });
    } catch {
      // A track WebAudio can't read (e.g. ended meanwhile): no level for it.
    }
  }

  unwatch(id) {
    const source = this.sources.get(id);
    if (!source) return;
    try {
      source.node.disconnect();
    } catch {
      // already disconnected
    }
    this.sources.delete(id);
  }

  // Keep only these ids.
  retain(ids) {
    for (const id of [...this.sources.keys()]) if (!ids.has(id)) this.unwatch(id);
  }

  sample() {
    const levels = new Map();
    let loudest = null;
    let loudestLevel = SPEAKING_LEVEL;
    for (const [id, source] of this.sources) {
      let level = 0;
      if (source.track.enabled && source.track.readyState === "live") {
        source.analyser.getFloatTimeDomainData(source.buffer);
        let sum = 0;
        for (const value of source.buffer) sum += value * value;
        level = Math.sqrt(sum / source.buffer.length);
      }
      source.level = Math.max(level, source.level * DECAY);
      levels.set(id, source.level);
      if (source.level > loudestLevel) {
        loudest = id;
        loudestLevel = source.level;
      }
    }
    this.onLevels(levels);
    this.pick(loudest, levels);
  }

  pick(loudest, levels) {
    if (loudest === null || loudest === this.active) {
      this.challenger = null;
      this.challengerCount = 0;
      return;
    }
    const activeLevel = this.active !== null ? levels.get(this.active) || 0 : 0;
    if (activeLevel > SPEAKING_LEVEL && levels.get(loudest) < activeLevel * 1.5) return;
    if (this.challenger === loudest) this.challengerCount += 1;
    else {
      this.challenger = loudest;
      this.challengerCount = 1;
    }
    if (this.challengerCount >= SWITCH_AFTER_SAMPLES || this.active === null) {
      this.active = loudest;
      this.challenger = null;
      this.challengerCount = 0;
      this.onActiveSpeaker(loudest);
    }
  }

  close() {
    clearInterval(this.timer);
    this.timer = null;
    for (const id of [...this.sources.keys()]) this.unwatch(id);
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }
}
