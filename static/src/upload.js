// Uploads on slow, unreliable phone data: progressive enhancement of the plain upload forms
// (`data-module="app-upload"`), which post normally without this file.
//
// - A photo the browser can decode is made as small as the server would keep it before it is
//   sent (shrink.js; in a worker where the browser has OffscreenCanvas). Anything else (a PDF,
//   HEIC on most Android browsers) is sent as chosen. The server checks and re-encodes everything
//   either way.
// - The form is sent by XMLHttpRequest (fetch cannot report upload progress), with a progress
//   bar. A lost connection is retried a few times with growing waits, keeping the chosen file,
//   and the status line (aria-live) says so in the page's language.
// - Each chosen file gets a key (the hidden `upload_key`), so that a retry after the server stored
//   the file but its answer was lost finds that document instead of making a second one.
// - Any answer from the server ends it. A kept file: the server names the page the plain form
//   would be redirected to (X-Portal-Location), and this goes there. Another redirect (signed
//   out meanwhile) is followed; a page (the file refused, with the reason) replaces this one, as
//   the plain form's answer would.
// - A form posted straight to S3 (`data-direct-upload`, with S3 storage): the file goes to the
//   bucket with the fields of `data-fields` (S3 answers 201 instead of redirecting: a request S3
//   redirected would reach the portal without its cookie), retried the same way to the same key.
//   Then the page opens the portal's check (`data-check`), which takes the file in or says why
//   not; whatever S3 answered (S3's refusals are untranslated XML), the check says it in the
//   page's language.
import { shrink } from "./shrink.js";

// Waits before each retry: four more tries over about half a minute.
const RETRY_DELAYS_MS = [1000, 3000, 8000, 15000];
// Gateways answer these when the portal is out of reach: the connection, not the file, failed.
const UNREACHABLE = new Set([0, 502, 503, 504]);
// A phone that cannot shrink a photo in this time sends the original rather than wait on.
const SHRINK_TIMEOUT_MS = 30000;
// A sending that has moved no byte for this long is a connection that died without saying so
// (common on mobile data): it is dropped and retried like one that failed.
const STALLED_MS = 60000;

function newKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
    .join("-");
}

function mayBeImage(file) {
  return file.type !== "application/pdf" && !/\.pdf$/i.test(file.name);
}

// The server checks that a name's extension matches the bytes: the new JPEG is named so.
function jpegName(name) {
  const stem = name.replace(/\.[A-Za-z0-9]{1,10}$/, "");
  return `${stem || "photo"}.jpg`;
}

function shrinkInWorker(file, maxSide, workerUrl) {
  return new Promise((resolve) => {
    const worker = new Worker(workerUrl);
    const finish = (blob) => {
      window.clearTimeout(timer);
      worker.terminate();
      resolve(blob);
    };
    const timer = window.setTimeout(() => finish(null), SHRINK_TIMEOUT_MS);
    worker.addEventListener("message", (event) => finish(event.data.blob));
    worker.addEventListener("error", () => finish(null));
    worker.postMessage({ file, maxSide });
  });
}

async function shrinkOnPage(file, maxSide) {
  try {
    return await shrink(file, maxSide, (width, height) => {
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      return canvas;
    });
  } catch {
    return null;
  }
}

// The smaller JPEG, or null to send the original.
async function shrunk(file, maxSide, workerUrl) {
  if (!maxSide || typeof createImageBitmap !== "function" || !mayBeImage(file)) return null;
  if (workerUrl && typeof Worker === "function" && typeof OffscreenCanvas === "function") {
    const blob = await shrinkInWorker(file, maxSide, workerUrl);
    if (blob) return blob;
  }
  return shrinkOnPage(file, maxSide);
}

function whenOnline(then) {
  if (navigator.onLine === false) {
    window.addEventListener("online", then, { once: true });
  } else {
    then();
  }
}

function enhance(form, restart) {
  const input = form.querySelector("input[type='file']");
  const keyField = form.querySelector("input[name='upload_key']");
  const direct = form.hasAttribute("data-direct-upload");
  const box = form.querySelector(".app-upload-progress");
  const bar = box.querySelector("progress");
  const status = box.querySelector(".app-upload-progress__status");
  const button = form.querySelector("button[type='submit']");
  const action = new URL(form.getAttribute("action") || window.location.href, window.location.href);
  action.hash = "";
  const { digits, maxSide, worker } = form.dataset;
  let prepared = null;
  let busy = false;

  if (keyField) keyField.value = newKey();
  input.addEventListener("change", () => {
    if (keyField) keyField.value = newKey();
    prepared = null;
  });

  const say = (text) => {
    status.textContent = text;
  };

  const stop = (text) => {
    say(text);
    busy = false;
    button.disabled = false;
    button.focus();
  };

  const retry = (body, attempt, name) => {
    if (attempt >= RETRY_DELAYS_MS.length) {
      // The file and its key stay chosen: pressing the button again sends the same file.
      stop(form.dataset.failed);
      return;
    }
    say(form.dataset.retrying);
    bar.value = 0;
    window.setTimeout(
      () => whenOnline(() => send(body, attempt + 1, name)),
      RETRY_DELAYS_MS[attempt],
    );
  };

  // The check of a direct upload, told the name of the file that was sent (S3 keeps no name).
  const check = (name) => {
    const url = new URL(form.dataset.check, window.location.href);
    if (name) url.searchParams.set("name", name);
    window.location.assign(url.href);
  };

  const send = (body, attempt, name) => {
    const request = new XMLHttpRequest();
    request.open("POST", action.href);
    if (!direct) request.setRequestHeader("X-Portal-Upload", "1");
    let watchdog;
    const watch = () => {
      window.clearTimeout(watchdog);
      watchdog = window.setTimeout(() => request.abort(), STALLED_MS);
    };
    // Once the whole file is sent, the server scans and cleans it: silence is then expected.
    request.upload.addEventListener("load", () => window.clearTimeout(watchdog));
    request.addEventListener("abort", () => retry(body, attempt, name));
    request.upload.addEventListener("progress", (progress) => {
      watch();
      if (progress.lengthComputable) {
        const percent = Math.round((progress.loaded / progress.total) * 100);
        bar.value = percent;
        // The sentence and the percent sign's place are the translation's; the digits the locale's.
        const written = String(percent).replace(/[0-9]/g, (digit) => digits[Number(digit)]);
        say(form.dataset.progress.replace("{n}", written));
      }
    });
    request.addEventListener("load", () => {
      window.clearTimeout(watchdog);
      const kept = request.getResponseHeader("X-Portal-Location");
      if (UNREACHABLE.has(request.status)) {
        retry(body, attempt, name);
      } else if (direct) {
        check(name);
      } else if (request.status === 204 && kept) {
        window.location.assign(new URL(kept, window.location.href).href);
      } else if (request.responseURL && request.responseURL !== action.href) {
        window.location.assign(request.responseURL);
      } else {
        // The same page again, with the reason the file was refused: shown as the server wrote it.
        document.open();
        document.write(request.responseText);
        document.close();
        restart();
      }
    });
    request.addEventListener("error", () => {
      window.clearTimeout(watchdog);
      retry(body, attempt, name);
    });
    request.send(body);
    watch();
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    box.hidden = false;
    bar.value = 0;
    const file = input.files && input.files[0];
    if (direct && !file) {
      // Nothing chosen: the check says so, in the page's language.
      check("");
      return;
    }
    let body = new FormData(form);
    let name = file ? file.name : "";
    if (file) {
      if (!prepared || prepared.file !== file) {
        say(form.dataset.preparing);
        prepared = { file, blob: await shrunk(file, Number(maxSide), worker) };
      }
      if (prepared.blob) name = jpegName(file.name);
      if (direct) {
        // The script's own policy fields, then the file: S3 wants the file last.
        body = new FormData();
        for (const [field, value] of Object.entries(JSON.parse(form.dataset.fields))) {
          body.append(field, value);
        }
        body.append(input.name, prepared.blob || file, name);
      } else if (prepared.blob) {
        body.set(input.name, prepared.blob, name);
      }
    }
    send(body, 0, name);
  });
}

// `restart` is portal.js's start: it enhances a page written in after a refusal (the module
// scripts of written-in HTML do not run again in the same window).
export function initUploads(restart) {
  if (!window.XMLHttpRequest || !window.FormData || !window.crypto) return;
  for (const form of document.querySelectorAll("[data-module='app-upload']")) {
    enhance(form, restart);
  }
}
