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

// Upload progress: on a slow connection a 10 MB photo can take minutes, so show how far it is.
// Without JavaScript the form posts normally and the page answers when the upload ends.
const uploadForm = document.querySelector("[data-module='app-upload']");
if (uploadForm && window.XMLHttpRequest && window.FormData) {
  const box = uploadForm.querySelector(".app-upload-progress");
  const bar = box.querySelector("progress");
  const status = box.querySelector(".app-upload-progress__status");
  uploadForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = uploadForm.querySelector("button[type='submit']");
    button.disabled = true;
    box.hidden = false;
    const request = new XMLHttpRequest();
    request.open("POST", uploadForm.action || window.location.href);
    request.upload.addEventListener("progress", (progress) => {
      if (progress.lengthComputable) {
        const percent = Math.round((progress.loaded / progress.total) * 100);
        bar.value = percent;
        // The sentence and the percent sign's place are the translation's; the digits the locale's.
        const digits = uploadForm.dataset.digits;
        const written = String(percent).replace(/[0-9]/g, (digit) => digits[Number(digit)]);
        status.textContent = uploadForm.dataset.progress.replace("{n}", written);
      }
    });
    request.addEventListener("load", () => {
      if (request.responseURL && request.responseURL !== window.location.href) {
        window.location.assign(request.responseURL);
        return;
      }
      // The same page again, with the reason the file was refused: show it as the server wrote it.
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", () => {
      uploadForm.submit();
    });
    request.send(new FormData(uploadForm));
  });
}
