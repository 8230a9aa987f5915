// Conditional reveal on radios ("Yes" shows the details question), without aria-expanded.
//
// GOV.UK Frontend's Radios script hides and shows the revealed questions and sets aria-expanded on
// each radio that controls some. WAI-ARIA 1.2 does not allow aria-expanded on role=radio (it does
// on checkbox, which is why the Checkboxes script stays GOV.UK's), and axe reports it as a critical
// aria-allowed-attr violation. The design system keeps it knowingly (alphagov/govuk-frontend
// #979, #1972; w3c/aria#1404 asks to allow it, still open) because some screen readers announce
// "expanded". But its own tests (reported in w3c/aria#1404) found that every browser and screen
// reader pair that says nothing involves Chrome, which exposes aria-expanded only where the
// specification allows it; and Chrome on Android is what most applicants use.
//
// So this script replaces GOV.UK's Radios (portal.js does not start it) and keeps only what the
// specification allows:
// - the checked state announces the choice ("Yes, radio button, checked");
// - the revealed questions sit right after the radio in reading and tab order, each with its own
//   label, so the next Tab or swipe lands on them;
// - aria-controls (a global property, allowed on radio) links the radio to what it reveals.
// Without JavaScript the body never gets `govuk-frontend-supported`, and GOV.UK's stylesheet only
// hides `.govuk-radios__conditional--hidden` under that class: every revealed question shows.

const HIDDEN = "govuk-radios__conditional--hidden";

/** Show the section a radio controls when the radio is checked, hide it when not. */
function sync(radio) {
  const section = document.getElementById(radio.getAttribute("aria-controls"));
  if (section && section.classList.contains("govuk-radios__conditional")) {
    section.classList.toggle(HIDDEN, !radio.checked);
  }
}

/** Every radio of the same group (same name, same form) that reveals something. */
function controllingRadios(radio) {
  return [...document.querySelectorAll('input[type="radio"][aria-controls]')].filter(
    (other) => other.name === radio.name && other.form === radio.form,
  );
}

export function initConditionalReveals() {
  const radios = document.querySelectorAll('.govuk-radios input[type="radio"][data-aria-controls]');
  for (const radio of radios) {
    const target = radio.getAttribute("data-aria-controls");
    radio.removeAttribute("data-aria-controls");
    if (document.getElementById(target)) {
      radio.setAttribute("aria-controls", target);
      sync(radio);
    }
  }
  if (!radios.length) return;
  // Checking one radio unchecks the others without an event on them: sync the whole group.
  document.addEventListener("change", (event) => {
    const radio = event.target;
    if (radio instanceof HTMLInputElement && radio.type === "radio") {
      for (const other of controllingRadios(radio)) sync(other);
    }
  });
  // Back and forward restore checked states from the page cache without a change event.
  window.addEventListener("pageshow", () => {
    for (const radio of document.querySelectorAll('input[type="radio"][aria-controls]')) sync(radio);
  });
}
