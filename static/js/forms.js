// Small enhancements for server-rendered forms; every form works without them.

// Pre-fill empty time zone fields with the browser's own IANA zone.
function fillTimeZones() {
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return;
  }
  for (const input of document.querySelectorAll("input[data-browser-time-zone]")) {
    if (!input.value && zone) input.value = zone;
  }
}

// Show a block only while a select has a given value: data-shown-when="select-id=value".
function wireConditionalBlocks() {
  for (const block of document.querySelectorAll("[data-shown-when]")) {
    const [id, value] = block.dataset.shownWhen.split("=");
    const select = document.getElementById(id);
    if (!select) continue;
    const hasError = block.querySelector(".has-error") !== null;
    const update = () => { block.hidden = select.value !== value && !hasError; };
    select.addEventListener("change", update);
    update();
  }
}

fillTimeZones();
wireConditionalBlocks();
