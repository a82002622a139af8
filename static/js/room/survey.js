// The end screen's "How was the call?" survey, and the call's own network figures that
// go with an answer.
//
// CallStats reads the peer connection's getStats() every few seconds during the call and
// keeps a summary only: inbound packet loss over the call, the median round-trip time of
// the selected candidate pair, and whether that pair ever relayed through TURN. Nothing
// leaves the browser unless the person answers the survey.
//
// The survey posts JSON with the signed token the room page gave us ([data-survey-token]:
// empty when this person is not to be asked, e.g. a signed-in person asked in the last
// 24 hours). Skip tells the server too, so an account is not asked again for 24 hours;
// it stores no answer.

const SAMPLE_MS = 2000;
const MAX_RTT_SAMPLES = 600;

export class CallStats {
  constructor() {
    this.totals = new Map(); // RTCPeerConnection -> { lost, received } (cumulative)
    this.rtts = [];
    this.usedTurn = null;
    this.pcs = []; // one on aiortc; publish and subscribe on Janus
    this.timer = null;
  }

  watch(pcs) {
    this.pcs = pcs;
    if (!this.timer) this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.pcs = [];
  }

  sample() {
    return Promise.all(this.pcs.map((pc) => this.sampleOne(pc)));
  }

  async sampleOne(pc) {
    if (pc.connectionState === "closed") return;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    let lost = 0;
    let received = 0;
    let pair = null;
    const candidates = new Map();
    report.forEach((stat) => {
      if (stat.type === "inbound-rtp") {
        lost += Math.max(stat.packetsLost || 0, 0);
        received += stat.packetsReceived || 0;
      } else if (stat.type === "candidate-pair" && stat.state === "succeeded" && (stat.nominated || stat.selected)) {
        pair = stat;
      } else if (stat.type === "local-candidate") {
        candidates.set(stat.id, stat);
      }
    });
    this.totals.set(pc, { lost, received });
    if (pair) {
      if (typeof pair.currentRoundTripTime === "number" && this.rtts.length < MAX_RTT_SAMPLES) {
        this.rtts.push(pair.currentRoundTripTime * 1000);
      }
      const local = candidates.get(pair.localCandidateId);
      if (local) this.usedTurn = Boolean(this.usedTurn) || local.candidateType === "relay";
    }
  }

  summary() {
    let lost = 0;
    let received = 0;
    for (const total of this.totals.values()) {
      lost += total.lost;
      received += total.received;
    }
    const sorted = [...this.rtts].sort((a, b) => a - b);
    return {
      packet_loss_pct: lost + received > 0 ? Math.min(100, (100 * lost) / (lost + received)) : null,
      rtt_ms: sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)]) : null,
      used_turn: this.usedTurn,
    };
  }
}

export class Survey {
  constructor(root, stats) {
    this.root = root;
    this.stats = stats;
    this.token = root.dataset.surveyToken || "";
    this.url = root.dataset.surveyUrl;
    this.form = root.querySelector("[data-survey]");
    this.shown = false;
    if (!this.form) return;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.form.querySelector("[data-survey-skip]").addEventListener("click", () => this.skip());
  }

  show() {
    if (!this.form || !this.token || this.shown) return;
    this.shown = true;
    this.form.hidden = false;
  }

  async post(body) {
    const csrf = this.root.querySelector("[data-leave-form] [name=csrfmiddlewaretoken]");
    const response = await fetch(this.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
      body: JSON.stringify({ token: this.token, ...body }),
    });
    const answer = await response.json().catch(() => ({}));
    return { ok: response.ok, answer };
  }

  say(text) {
    this.form.querySelector("[data-survey-status]").textContent = text;
  }

  done(text) {
    const note = this.root.querySelector("[data-survey-done]");
    note.textContent = text;
    note.hidden = false;
    this.form.hidden = true;
    note.focus();
  }

  async send() {
    const data = new FormData(this.form);
    const stars = Number(data.get("stars"));
    if (!stars) {
      this.say("Choose from 1 to 5 stars, or Skip.");
      return;
    }
    const button = this.form.querySelector("[type=submit]");
    button.disabled = true;
    try {
      const { ok, answer } = await this.post({
        stars,
        reasons: data.getAll("reasons"),
        comment: String(data.get("comment") || ""),
        stats: this.stats.summary(),
      });
      if (ok) this.done("Thank you: your answer helps us make calls better.");
      else this.say(answer.message || "Your answer could not be sent.");
    } catch {
      this.say("Your answer could not be sent: check your connection and try again.");
    } finally {
      button.disabled = false;
    }
  }

  async skip() {
    this.form.hidden = true;
    try {
      await this.post({ skip: true });
    } catch {
      // Skipping stores nothing; a lost request only means we may ask again.
    }
  }
}
