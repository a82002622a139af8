// Cookie consent in the page. The server decides and renders what is allowed into
// #cookie-consent-config; this script only acts on it: it loads third-party scripts of
// allowed categories (the server never writes them as <script> tags), deletes cookies
// that are no longer allowed, sends the banner's choice without a page load, and
// reports a Global Privacy Control signal the server could not see in the headers.

const config = document.getElementById("cookie-consent-config");
const status = document.querySelector("[data-consent-status]");

function parseList(text) {
  try {
    const value = JSON.parse(text || "[]");
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

function say(text) {
  if (status) status.textContent = text;
}

function hasCookie(name) {
  return document.cookie.split(";").some((part) => part.trim().split("=")[0] === name);
}

// A script may have set its cookie on this host or on a parent domain: try them all.
function deleteCookie(name) {
  const expire = `${name}=; Max-Age=0; path=/`;
  document.cookie = expire;
  const labels = location.hostname.split(".");
  for (let i = 0; i < labels.length - 1; i += 1) {
    document.cookie = `${expire}; domain=${labels.slice(i).join(".")}`;
  }
}

function removeCookies(names) {
  for (const name of names) {
    if (hasCookie(name)) deleteCookie(name);
  }
}

function loadScripts(scripts) {
  // With the signal on, no marketing script loads, whatever the server was told.
  const gpc = navigator.globalPrivacyControl === true;
  for (const { src, category } of scripts) {
    if (!src || (gpc && category === "marketing")) continue;
    const absolute = new URL(src, location.href).href;
    if ([...document.scripts].some((node) => node.src === absolute)) continue;
    const node = document.createElement("script");
    node.src = absolute;
    node.async = true;
    node.dataset.consentCategory = category;
    document.head.append(node);
  }
}

function wireBanner(allowedBefore) {
  const banner = document.querySelector("[data-cookie-banner]");
  const form = banner?.querySelector("form[data-consent-form]");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    if (form.dataset.plain === "true") return;
    event.preventDefault();
    const submitter = event.submitter;
    try {
      // Not form.action: the buttons are named "action", which shadows the property.
      const response = await fetch(form.getAttribute("action"), {
        method: "POST",
        body: new FormData(form, submitter),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`consent: ${response.status}`);
      const result = await response.json();
      banner.hidden = true;
      removeCookies(result.blocked_cookies || []);
      const allowed = new Set(result.allowed || []);
      // A script already running cannot be unloaded: start afresh without it.
      if ([...allowedBefore].some((category) => !allowed.has(category))) {
        location.reload();
        return;
      }
      loadScripts(result.scripts || []);
      say("Your cookie choice is saved. Change it any time from Cookie settings.");
    } catch {
      // The plain form still works: let the browser post it.
      form.dataset.plain = "true";
      form.requestSubmit(submitter);
    }
  });
}

function reportGpc() {
  if (navigator.globalPrivacyControl !== true || config.dataset.gpcSeen === "true") return;
  config.dataset.gpcSeen = "true";
  fetch(config.dataset.gpcUrl, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRFToken": config.dataset.csrfToken },
    credentials: "same-origin",
  }).catch(() => {});
}

if (config) {
  const allowed = new Set((config.dataset.allowed || "").split(" ").filter(Boolean));
  removeCookies(parseList(config.dataset.blockedCookies));
  loadScripts(parseList(config.dataset.scripts));
  wireBanner(allowed);
  reportGpc();
}
