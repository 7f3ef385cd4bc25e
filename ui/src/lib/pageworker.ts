// The page-image worker: fetches a page image and decodes it to a bitmap
// of the size it will be shown at, off the reader's thread (WebKit decodes
// a createImageBitmap on the calling thread: on the main thread a 2-Mpx
// page held up the frame that showed the turn by 40-50 ms). The bitmap is
// transferred, not copied.

import { BackendError } from "./backend";
import { decodePage } from "./pagedecode";

interface Job {
  id: number;
  url?: string;
  width?: number;
  height?: number;
  /** Stop job `id`. */
  abort?: boolean;
}

const running = new Map<number, AbortController>();

self.onmessage = async (e: MessageEvent<Job>) => {
  const { id, url, width = 0, height = 0, abort } = e.data;
  if (abort) {
    running.get(id)?.abort();
    running.delete(id);
    return;
  }
  if (!url) return;
  const stop = new AbortController();
  running.set(id, stop);
  try {
    const bitmap = await decodePage(url, width, height, stop.signal);
    if (stop.signal.aborted) {
      bitmap.close();
      return;
    }
    (self as unknown as Worker).postMessage({ id, bitmap }, [bitmap]);
  } catch (err) {
    if (!stop.signal.aborted) {
      const code = err instanceof BackendError ? err.code : undefined;
      (self as unknown as Worker).postMessage({ id, code, error: err instanceof Error ? err.message : String(err) });
    }
  } finally {
    running.delete(id);
  }
};
