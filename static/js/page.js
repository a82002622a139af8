// Small page helpers shared by the meeting and recording pages.

// Copy a read-only link field; if the clipboard is refused, select the text instead.
export function wireCopyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const input = document.getElementById(button.dataset.copy);
    const feedback = document.querySelector(`[data-copy-feedback="${button.dataset.copy}"]`);
    if (!input) continue;
    button.hidden = false;
    const say = (text) => { if (feedback) feedback.textContent = text; };
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(input.value);
        button.textContent = "Copied";
        say("The link is on your clipboard.");
        setTimeout(() => { button.textContent = "Copy"; }, 2000);
      } catch {
        input.focus();
        input.select();
        say("Press Ctrl+C (or ⌘C) to copy the selected link.");
      }
    });
  }
  for (const input of document.querySelectorAll("input[data-copy-source]")) {
    input.addEventListener("focus", () => input.select());
  }
}

// Show times marked data-local-time in the viewer's own zone (a share-page visitor may
// have no account to take a zone from), keeping the server's text as a tooltip.
export function showLocalTimes({ month = "long", weekday = "long" } = {}) {
  let format;
  try {
    format = new Intl.DateTimeFormat(undefined, {
      weekday, day: "numeric", month, year: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short",
    });
  } catch {
    return;
  }
  for (const node of document.querySelectorAll("time[data-local-time]")) {
    const when = new Date(node.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    node.title = node.textContent.trim();
    node.textContent = format.format(when);
  }
}
