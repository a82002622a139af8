// Recordings pages: live processing progress, copy buttons for share links, local times
// on the share page and a confirmation before deleting for good. Every page works
// without this file.

import { showLocalTimes, wireCopyButtons } from "./page.js";

const POLL_MS = 2000;
const SLOW_POLL_MS = 10000; // while only "recording": nothing moves until it stops
const LIVE = new Set(["recording", "processing"]);

async function fetchJson(url) {
  const response = await fetch(url, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
    cache: "no-store",
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

// Put the new progress into a state cell rendered by recordings/_state.html.
function showProgress(container, status) {
  const bar = container.querySelector("[data-progress]");
  const text = container.querySelector("[data-progress-text]");
  if (bar) bar.value = status.progress;
  if (bar) bar.textContent = `${status.progress}%`;
  if (text) text.textContent = `${status.progress}%`;
}

// Swap a library row for the server's fresh rendering of it (thumbnail, size, links).
async function replaceRow(row) {
  const response = await fetch(window.location.pathname, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) return false;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById(row.id);
  if (!fresh) return false;
  row.replaceWith(document.importNode(fresh, true));
  return true;
}

// The library: one request for every row still recording or processing.
function wireLibrary() {
  const root = document.querySelector("[data-library]");
  if (!root) return;
  let timer = null;
  const liveRows = () => [...root.querySelectorAll("tr[data-recording]")].filter((row) => LIVE.has(row.dataset.state));

  const poll = async () => {
    const rows = liveRows();
    if (!rows.length) return;
    try {
      const ids = rows.map((row) => row.dataset.recording).join(",");
      const body = await fetchJson(`${root.dataset.statusUrl}?ids=${encodeURIComponent(ids)}`);
      for (const status of body.recordings) {
        const row = document.getElementById(`rec-${status.id}`);
        if (!row) continue;
        if (status.state !== row.dataset.state) {
          if (!(await replaceRow(row))) row.dataset.state = status.state;
        } else {
          showProgress(row, status);
        }
      }
    } catch {
      // A dropped request is retried on the next tick.
    }
    const processing = liveRows().some((row) => row.dataset.state === "processing");
    if (liveRows().length) timer = setTimeout(poll, processing ? POLL_MS : SLOW_POLL_MS);
  };

  if (liveRows().length) timer = setTimeout(poll, POLL_MS);
  window.addEventListener("pagehide", () => clearTimeout(timer));
}

// One recording's page: follow its progress; once it is ready or failed, reload to show
// the player or the reason.
function wireDetail() {
  const root = document.querySelector("[data-recording-detail]");
  if (!root) return;
  let timer = null;
  const poll = async () => {
    try {
      const status = await fetchJson(root.dataset.statusUrl);
      if (status.state !== root.dataset.state) {
        window.location.reload();
        return;
      }
      showProgress(root, status);
    } catch {
      // Retried on the next tick.
    }
    timer = setTimeout(poll, root.dataset.state === "processing" ? POLL_MS : SLOW_POLL_MS);
  };
  timer = setTimeout(poll, POLL_MS);
  window.addEventListener("pagehide", () => clearTimeout(timer));
}

// Forms marked data-confirm ask before they submit (deleting for good can't be undone).
function wireConfirmations() {
  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

wireLibrary();
wireDetail();
wireCopyButtons();
wireConfirmations();
showLocalTimes({ month: "short", weekday: "short" });
