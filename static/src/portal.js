// Progressive enhancement only: every page works without this file.
import { initAll } from "__GOVUK_FRONTEND__";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

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
