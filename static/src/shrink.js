// Make a photo as small as the server would keep it, on the phone, before it travels.
//
// The server scales every image to PORTAL_IMAGE_MAX_SIDE on its longest side and re-encodes it
// (portal/documents/validation.py); sending more pixels than that is paying for bytes that are
// thrown away. This does the same here: decode, turn upright (the EXIF orientation is applied by
// createImageBitmap, then forgotten), scale, and encode a new JPEG from the pixels alone, so no
// metadata (a GPS position, the phone's name) leaves the phone. Transparent areas become white,
// as the server's own flattening does. The server still validates and re-encodes the result.
//
// Shared by the worker (OffscreenCanvas) and the page (a <canvas>, where there is no worker).

export const JPEG_QUALITY = 0.85;

// `makeCanvas(width, height)` gives an OffscreenCanvas in a worker, a <canvas> on the page.
export async function shrink(file, maxSide, makeCanvas) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  try {
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = makeCanvas(width, height);
    const context = canvas.getContext("2d");
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, width, height);
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, width, height);
    if (typeof canvas.convertToBlob === "function") {
      return await canvas.convertToBlob({ type: "image/jpeg", quality: JPEG_QUALITY });
    }
    return await new Promise((resolve, reject) => {
      canvas.toBlob(
        (blob) => (blob ? resolve(blob) : reject(new Error("not encoded"))),
        "image/jpeg",
        JPEG_QUALITY,
      );
    });
  } finally {
    bitmap.close();
  }
}
