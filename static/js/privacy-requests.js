// Privacy request pages: the staff's live progress of an access export, and the print
// button on a California notice. Both pages work without this file.

const POLL_MS = 2000;

function wireExportProgress() {
  const root = document.querySelector("[data-export-status]");
  if (!root || !["received", "in_progress"].includes(root.dataset.state)) return;
  const bar = root.querySelector("[data-progress]");
  const text = root.querySelector("[data-progress-text]");
  let timer = null;
  const poll = async () => {
    try {
      const response = await fetch(root.dataset.exportStatus, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const status = await response.json();
      if (bar) { bar.value = status.progress; bar.textContent = `${status.progress}%`; }
      if (text) text.textContent = `${status.progress}%`;
      if ((status.state !== root.dataset.state && status.closed) || status.awaiting_release) {
        // Finished, or built and held: the page shows the answer or the release panel.
        window.location.reload();
        return;
      }
    } catch {
      // A dropped request is retried on the next tick.
    }
    timer = setTimeout(poll, POLL_MS);
  };
  timer = setTimeout(poll, POLL_MS);
  window.addEventListener("pagehide", () => clearTimeout(timer));
}

function wirePrint() {
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
}

wireExportProgress();
wirePrint();
