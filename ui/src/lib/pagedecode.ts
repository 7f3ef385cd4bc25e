// Fetching and decoding one page image: shared by the page-image worker
// and the reader's own thread (where no worker can run).

import { BackendError } from "./backend";

/** Why a page image could not be had, as the app's page scheme says it. */
async function refusal(r: Response): Promise<BackendError> {
  const body = await r.text();
  try {
    const { code, message } = JSON.parse(body) as { code?: string; message?: string };
    if (code) return new BackendError(code, message ?? "");
  } catch {
    // Not the scheme's JSON (a proxy, the development server): its text.
  }
  return new BackendError("page_failed", body || `HTTP ${r.status}`);
}

/**
 * Fetches `src` and decodes it to a bitmap of `width` × `height` device
 * pixels (the decoder scales once, so painting never does).
 */
export async function decodePage(src: string, width: number, height: number, signal: AbortSignal): Promise<ImageBitmap> {
  const r = await fetch(src, { signal, cache: "no-store" });
  if (!r.ok) throw await refusal(r);
  const blob = await r.blob();
  const size = width > 0 && height > 0 ? { resizeWidth: width, resizeHeight: height, resizeQuality: "high" as const } : {};
  try {
    return await createImageBitmap(blob, size);
  } catch (e) {
    // Some engines decode only raster blobs this way (the development
    // backend draws its pages as SVG): go through an image element, where
    // there is one (not in a worker).
    if (typeof Image === "undefined") throw e;
    const url = URL.createObjectURL(blob);
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      return await createImageBitmap(img, size);
    } finally {
      URL.revokeObjectURL(url);
    }
  }
}
