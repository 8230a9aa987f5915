// The presence check: ask the browser for its position, send it once, show the result page.
// Without JavaScript the page explains what to do instead.
const box = document.querySelector("[data-module='app-presence-check']");
if (box && "geolocation" in navigator) {
  box.hidden = false;
  const button = box.querySelector("button");
  const status = box.querySelector("[role='status']");
  const send = async (payload) => {
    const response = await fetch(box.dataset.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": box.dataset.csrfToken },
      credentials: "same-origin",
      body: JSON.stringify(payload),
    });
    const answer = await response.json();
    window.location.assign(answer.next);
  };
  button.addEventListener("click", () => {
    button.disabled = true;
    status.textContent = status.dataset.statusWaiting;
    navigator.geolocation.getCurrentPosition(
      (position) =>
        send({
          latitude: position.coords.latitude,
          longitude: position.coords.longitude,
          accuracy: position.coords.accuracy,
        }),
      (error) => {
        if (error.code === error.PERMISSION_DENIED) {
          send({ refused: true });
        } else {
          button.disabled = false;
          status.textContent = status.dataset.statusFailed;
        }
      },
      { enableHighAccuracy: true, timeout: 60000, maximumAge: 0 },
    );
  });
}
