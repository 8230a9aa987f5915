// Progressive enhancement only: every page works without this file.
//
// Only the GOV.UK Frontend components whose markup the portal renders (`data-module="govuk-…"`):
// static/build.mjs bundles this file with esbuild, which leaves every other component out
// (initAll would bring all of them). A page that starts using another one (accordion, tabs,
// character count, exit this page, a file upload with `javascript: true`) must add it here;
// tests/integration/test_assets.py checks the templates against this list. GOV.UK's Radios is
// replaced by conditional-reveal.js (its comment says why).
import {
  Button,
  Checkboxes,
  createAll,
  ErrorSummary,
  NotificationBanner,
  PasswordInput,
  ServiceNavigation,
  SkipLink,
} from "govuk-frontend";
import { initConditionalReveals } from "./conditional-reveal.js";
import { initUploads } from "./upload.js";

// Everything this file does to a page, again for a page written in by upload.js.
function start() {
  document.body.classList.add("js-enabled", "govuk-frontend-supported");
  for (const Component of [
    Button,
    Checkboxes,
    ErrorSummary,
    NotificationBanner,
    PasswordInput,
    ServiceNavigation,
    SkipLink,
  ]) {
    createAll(Component);
  }
  initConditionalReveals();

  // Session timeout warning (GOV.UK pattern): shown two minutes before the idle timeout,
  // with a button that keeps the session alive so nothing typed is lost.
  const warning = document.querySelector("[data-module='app-timeout-warning']");
  if (warning) {
    const idleSeconds = Number(warning.dataset.idleSeconds);
    const warnBefore = 120;
    const keepAliveUrl = warning.dataset.keepAliveUrl;
    const csrfToken = warning.dataset.csrfToken;
    const button = warning.querySelector("button");
    let timer;
    const arm = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        warning.hidden = false;
        button.focus();
      }, Math.max(idleSeconds - warnBefore, 10) * 1000);
    };
    button.addEventListener("click", async (event) => {
      event.preventDefault();
      const response = await fetch(keepAliveUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken },
        credentials: "same-origin",
      });
      if (response.ok) {
        warning.hidden = true;
        arm();
      } else {
        window.location.reload();
      }
    });
    arm();
  }

  // Uploads: smaller photos, progress, and retries when the connection drops (upload.js). A page
  // the upload answered with is written into this document, where this module does not run again:
  // it starts it.
  initUploads(start);
}

start();
