// The photo shrinking of upload.js, off the page's thread: decoding and scaling a 12-megapixel
// photo takes a cheap phone about a second, during which the page would not answer a touch.
// Built as a classic script (not a module worker, which older phone browsers cannot start).
import { shrink } from "./shrink.js";

self.addEventListener("message", async (event) => {
  const { file, maxSide } = event.data;
  try {
    const blob = await shrink(file, maxSide, (width, height) => new OffscreenCanvas(width, height));
    self.postMessage({ blob });
  } catch {
    // Not an image this browser can decode (a PDF, HEIC on most Android browsers): the page
    // sends the original.
    self.postMessage({ blob: null });
  }
});
