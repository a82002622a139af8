// Copy buttons for read-only link fields (meeting links, recording share links).

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
