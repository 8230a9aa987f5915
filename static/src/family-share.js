// Sending the family reference: copy the text, or hand it to the phone's own share sheet where the
// browser has one. Without JavaScript the page shows the text to copy by hand and its QR code.
const box = document.querySelector("[data-module='app-family-share']");
if (box) {
  const text = box.querySelector("textarea");
  const status = box.querySelector("[role='status']");
  const copy = box.querySelector("[data-action='copy']");
  const share = box.querySelector("[data-action='share']");
  box.querySelector(".app-js-only").hidden = false;

  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text.value);
    } catch {
      // No clipboard permission (an older browser, an insecure address): select the text so the
      // phone offers its own copy.
      text.focus();
      text.select();
      return;
    }
    status.textContent = box.dataset.copied;
  });

  if (typeof navigator.share === "function") {
    share.hidden = false;
    share.addEventListener("click", async () => {
      try {
        await navigator.share({ text: text.value });
      } catch {
        // The person closed the share sheet: nothing to do.
      }
    });
  }
}
