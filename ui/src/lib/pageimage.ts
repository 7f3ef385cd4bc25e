// Page images for the reader: fetched and decoded in a worker
// (createImageBitmap) at the size they are shown, and handed to a canvas
// whose memory the reader frees when the page leaves the view. An <img>
// left every page it had shown decoded in WebKit's memory, out of our
// reach (1.4 GB after 50 turns of a 320-page paper).

import { BackendError } from "./backend";
import { decodePage } from "./pagedecode";

// The worker that fetches and decodes (one for the reader; pages queue).
let worker: Worker | null | undefined;
let nextId = 1;
const waiting = new Map<number, { ok: (b: ImageBitmap) => void; fail: (e: Error) => void }>();

const workerFailed = (message: string) => new BackendError("page_failed", message);

function pageWorker(): Worker | null {
  if (worker !== undefined) return worker;
  try {
    worker = new Worker(new URL("./pageworker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (e: MessageEvent<{ id: number; bitmap?: ImageBitmap; code?: string; error?: string }>) => {
      const w = waiting.get(e.data.id);
      waiting.delete(e.data.id);
      if (!w) {
        e.data.bitmap?.close();
        return;
      }
      if (e.data.bitmap) w.ok(e.data.bitmap);
      else w.fail(new BackendError(e.data.code ?? "page_failed", e.data.error ?? "the page worker failed"));
    };
    worker.onerror = (e) => {
      // The worker is gone: every page waiting on it fails (and can be
      // tried again), and the next ones decode on this thread.
      console.error("page image worker failed", e.message);
      for (const w of waiting.values()) w.fail(workerFailed(e.message || "the page worker stopped"));
      waiting.clear();
      worker = null;
    };
  } catch (e) {
    console.error("no page image worker; pages decode on the reader's thread", e);
    worker = null;
  }
  return worker;
}

/**
 * Fetches `src` and decodes it to a bitmap of `width` × `height` device
 * pixels, in the page worker (on this thread where there is none).
 */
export function loadPageBitmap(src: string, width: number, height: number, signal: AbortSignal): Promise<ImageBitmap> {
  const w = pageWorker();
  if (!w) return decodePage(src, width, height, signal);
  const id = nextId++;
  return new Promise((ok, fail) => {
    waiting.set(id, { ok, fail });
    signal.addEventListener("abort", () => {
      waiting.delete(id);
      w.postMessage({ id, abort: true });
      fail(new DOMException("aborted", "AbortError"));
    }, { once: true });
    w.postMessage({ id, url: src, width, height });
  });
}

/** A page's image size in device pixels: `width` × `height` points at `scale` CSS px a point. */
export function devicePixels(width: number, height: number, scale: number, dpr: number): [number, number] {
  return [Math.round(width * scale * dpr), Math.round(height * scale * dpr)];
}

/** Puts `bmp` on `canvas` (taking it over: the bitmap is closed). */
export function showBitmap(canvas: HTMLCanvasElement, bmp: ImageBitmap): void {
  canvas.width = bmp.width;
  canvas.height = bmp.height;
  const direct = canvas.getContext("bitmaprenderer");
  if (direct) {
    direct.transferFromImageBitmap(bmp);
    return;
  }
  canvas.getContext("2d")?.drawImage(bmp, 0, 0);
  bmp.close();
}

/** Lets a canvas's pixels go at once (not when the collector gets to it). */
export function releaseCanvas(canvas: HTMLCanvasElement): void {
  canvas.width = 0;
  canvas.height = 0;
}

/** A page image wanted ahead: its URL and the device-pixel size it will be shown at. */
export interface Wanted {
  url: string;
  width: number;
  height: number;
}

const keyOf = (w: Wanted) => `${w.url}#${w.width}x${w.height}`;

/**
 * The next pages' bitmaps, fetched and decoded before the reader turns to
 * them, so a turn only hands a ready bitmap to the page's canvas. Holds
 * exactly what it was last told to want; the rest is aborted or closed.
 */
export class BitmapsAhead {
  // Not UI state: owned and cleared here.
  readonly #held = new Map<string, { stop: AbortController; bitmap: Promise<ImageBitmap> }>();

  /** Keeps `list` fetched and decoded, and lets everything else go. */
  want(list: readonly Wanted[]): void {
    const keys = new Set(list.map(keyOf));
    for (const [k, h] of this.#held) {
      if (keys.has(k)) continue;
      this.#held.delete(k);
      h.stop.abort();
      h.bitmap.then((b) => b.close()).catch(() => {});
    }
    for (const w of list) {
      const k = keyOf(w);
      if (this.#held.has(k)) continue;
      const stop = new AbortController();
      const bitmap = loadPageBitmap(w.url, w.width, w.height, stop.signal);
      // A failure shows on the page when it is turned to (fetched again).
      bitmap.catch(() => this.#held.delete(k));
      this.#held.set(k, { stop, bitmap });
    }
  }

  /** The bitmap for `w` if it was wanted ahead; the caller owns it then. */
  take(w: Wanted): Promise<ImageBitmap> | null {
    const k = keyOf(w);
    const h = this.#held.get(k);
    if (!h) return null;
    this.#held.delete(k);
    return h.bitmap;
  }

  /** Lets everything go. */
  clear(): void {
    this.want([]);
  }
}
