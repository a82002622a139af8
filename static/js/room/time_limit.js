// The host's plan limits how long a meeting lasts (meetings/time_limit.py). The room
// says so twice, when 5 and then 1 minute are left, in a banner under the call bar; at
// the limit the meeting ends for everyone and the "over" screen says why. Only hosts
// get the upgrade link: they are the ones who can change the plan.

import { el } from "./ui.js";

function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, window.location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function minutesText(minutes) {
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

function limitText(limit) {
  const minutes = Number(limit.limit_minutes);
  return Number.isFinite(minutes) && minutes > 0 ? `the ${minutes}-minute limit` : "the time limit";
}

function upgradeLink(limit, isHost) {
  const href = isHost ? safeUrl(limit.upgrade_url) : null;
  if (!href) return null;
  return el("a", { href, target: "_blank", rel: "noopener", className: "time-limit-upgrade", text: "Upgrade for longer meetings" });
}

export class TimeLimit {
  constructor(root) {
    this.root = root;
    this.banner = null;
    this.shown = null; // minutes_left of the banner on screen
  }

  // A warning from the room: {minutes_left, ends_at, limit_minutes, upgrade_url}.
  warn(message, isHost) {
    const minutes = Number(message.minutes_left);
    if (!Number.isFinite(minutes) || minutes <= 0) return;
    if (this.shown !== null && this.shown <= minutes) return; // a resync repeats nothing
    this.shown = minutes;
    const text = `This meeting ends in ${minutesText(minutes)}: it reaches ${limitText(message)} of the host's plan.`;
    const children = [el("p", { text })];
    const link = upgradeLink(message, isHost);
    if (link) children.push(link);
    const banner = el("section", { className: "time-limit-banner", role: "alert", "aria-label": "Time limit" }, children);
    if (this.banner) this.banner.replaceWith(banner);
    else {
      const anchor = this.root.querySelector("[data-rec-banner]");
      if (anchor) anchor.after(banner);
      else this.root.prepend(banner);
    }
    this.banner = banner;
  }

  // The snapshot's time_limit: a late joiner inside the last 5 minutes sees the banner too.
  applySnapshot(limit, isHost) {
    if (!limit || !limit.ends_at) return;
    const left = (Date.parse(limit.ends_at) - Date.now()) / 60_000;
    if (!Number.isFinite(left) || left <= 0 || left > 5) return;
    this.warn({ ...limit, minutes_left: left > 1 ? 5 : 1 }, isHost);
  }

  // For the "over" screen when the meeting ended at the limit.
  ended(message, isHost) {
    return {
      title: "The meeting has ended",
      message: `This meeting reached ${limitText(message)} of the host's plan.`,
      link: upgradeLink(message, isHost),
      rejoin: false,
    };
  }
}
