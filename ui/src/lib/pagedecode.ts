// Fetching and decoding one page image: shared by the page-image worker
// and the reader's own thread (where no worker can run).

/** Why a page image could not be had: the render service's own words. */
export class PageImageError extends Error {}

/**
 * Fetches `src` and decodes it to a bitmap of `width` × `height` device
 * pixels (the decoder scales once, so painting never does).
 */
export async function decodePage(src: string, width: number, height: number, signal: AbortSignal): Promise<ImageBitmap> {
  const r = await fetch(src, { signal, cache: "no-store" });
  if (!r.ok) throw new PageImageError((await r.text()) || `HTTP ${r.status}`);
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
