// Meeting pages: copy buttons, the repeat fields, local times, the lobby's status poll
// and the host's self-refreshing lobby list. Every page works without this file.

import { showLocalTimes, wireCopyButtons } from "./page.js";

const POLL_MS = 3000;

// Hide a block while a select has a given value: data-hidden-when="select-id=value".
function wireHiddenBlocks() {
  for (const block of document.querySelectorAll("[data-hidden-when]")) {
    const [id, value] = block.dataset.hiddenWhen.split("=");
    const select = document.getElementById(id);
    if (!select) continue;
    const hasError = block.querySelector(".has-error") !== null;
    const update = () => { block.hidden = select.value === value && !hasError; };
    select.addEventListener("change", update);
    update();
  }
}

// The lobby page: a heartbeat every few seconds that also says where we stand. Once the
// host lets us in, on to the meeting room.
function wireLobby() {
  const root = document.querySelector("[data-lobby]");
  if (!root) return;
  const goToRoom = () => {
    if (root.dataset.roomUrl) window.location.replace(root.dataset.roomUrl);
  };
  if (root.dataset.state === "admitted" && root.dataset.roomUrl) {
    goToRoom();
    return;
  }
  const heading = root.querySelector("[data-lobby-heading]");
  const message = root.querySelector("[data-lobby-message]");
  const people = root.querySelector("[data-lobby-people]");
  const rejoin = root.querySelector("[data-rejoin]");
  let timer = null;

  const show = (status) => {
    root.dataset.state = status.state;
    const title = root.dataset[`heading${status.state.charAt(0).toUpperCase()}${status.state.slice(1)}`];
    if (title && heading.textContent !== title) heading.textContent = title;
    if (message.textContent !== status.message) message.textContent = status.message;
    for (const section of root.querySelectorAll("[data-when-state]")) {
      section.hidden = section.dataset.whenState !== status.state;
    }
    if (rejoin) rejoin.hidden = !status.can_rejoin;
    if (people && Array.isArray(status.people)) {
      const names = status.people.join("\n");
      if (people.dataset.names !== names) {
        people.dataset.names = names;
        people.replaceChildren(...status.people.map((name) => {
          const item = document.createElement("li");
          item.textContent = name;
          return item;
        }));
      }
    }
    // The meeting room listens for this to pick up the guest ticket.
    root.dispatchEvent(new CustomEvent("lobby:status", { detail: status, bubbles: true }));
  };

  const poll = async () => {
    try {
      const response = await fetch(root.dataset.statusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      const status = await response.json();
      show(status);
      if (status.state === "admitted" && root.dataset.roomUrl) {
        goToRoom();
        return;
      }
      if (status.state === "denied" || status.state === "left" || status.state === "none") {
        return; // nothing more will change
      }
    } catch {
      // A dropped request is retried on the next tick.
    }
    timer = setTimeout(poll, POLL_MS);
  };

  if (root.dataset.state === "waiting" || root.dataset.state === "admitted") {
    timer = setTimeout(poll, 0);
  }
  window.addEventListener("pagehide", () => clearTimeout(timer));
}

// What a section says and offers, leaving out the CSRF tokens that differ on every load.
function signature(node) {
  const actions = [...node.querySelectorAll("form")].map((form) => form.getAttribute("action"));
  return `${node.textContent.replace(/\s+/g, " ")}|${actions.join(",")}`;
}

// Sections marked data-refresh-every="N" reload their contents from the same page every
// N seconds, unless the host is using a control inside them.
function wireRefreshingSections() {
  for (const section of document.querySelectorAll("[data-refresh-every]")) {
    const seconds = Number(section.dataset.refreshEvery) || 5;
    const refresh = async () => {
      if (!section.contains(document.activeElement) || document.activeElement === document.body) {
        try {
          const response = await fetch(window.location.pathname, {
            credentials: "same-origin",
            cache: "no-store",
          });
          if (response.ok) {
            const page = new DOMParser().parseFromString(await response.text(), "text/html");
            const fresh = page.getElementById(section.id);
            if (fresh && signature(fresh) !== signature(section)) {
              section.replaceChildren(...fresh.childNodes);
            }
          }
        } catch {
          // Try again next time.
        }
      }
      setTimeout(refresh, seconds * 1000);
    };
    setTimeout(refresh, seconds * 1000);
  }
}

wireCopyButtons();
wireHiddenBlocks();
showLocalTimes();
wireLobby();
wireRefreshingSections();
