// The reader's text layer as runs: one transparent span per stretch of
// characters on one line, not one per character. A page of a council
// report holds 2,000–4,000 characters; a span each made every page turn
// build, style and lay out thousands of elements. PDF.js's text layer
// works the same way (one element per text run, stretched to its width).

import type { Box } from "./backend";

/** Characters on one line, in reading order, as one span. */
export interface TextRun {
  /** Index (Unicode scalar values) of the run's first character on the page. */
  start: number;
  /** The run's characters. */
  text: string;
  /** Number of characters (Unicode scalar values) in `text`. */
  length: number;
  /** The run's bounds in PDF points: [left, bottom, right, top]. */
  box: Box;
}

/**
 * Cuts a page's characters into runs. A run ends where a character has no
 * box, where the next one is not on the same line (its vertical middle
 * outside the run's band), where it goes back to the left (a new line or
 * column), or where the gap before it is wider than three character
 * heights (a table's next cell).
 */
export function textRuns(chars: readonly string[], boxes: readonly (Box | null | undefined)[]): TextRun[] {
  const runs: TextRun[] = [];
  let cur: { start: number; parts: string[]; box: [number, number, number, number] } | null = null;
  const end = () => {
    if (cur && cur.parts.length > 0) {
      const text = cur.parts.join("");
      runs.push({ start: cur.start, text, length: cur.parts.length, box: cur.box });
    }
    cur = null;
  };
  for (let i = 0; i < chars.length; i++) {
    const b = boxes[i];
    const ch = chars[i] ?? "";
    if (!b || ch === "\n" || ch === "\r") {
      end();
      continue;
    }
    const [l, bottom, r, t] = b;
    if (cur) {
      const [, cb, cr, ct] = cur.box;
      const h = Math.max(ct - cb, t - bottom, 1);
      const mid = (bottom + t) / 2;
      const sameLine = mid >= cb - h * 0.1 && mid <= ct + h * 0.1;
      const forward = l >= cr - h * 0.5;
      const near = l - cr <= h * 3;
      if (!(sameLine && forward && near)) end();
    }
    if (!cur) {
      cur = { start: i, parts: [ch], box: [l, bottom, r, t] };
    } else {
      cur.parts.push(ch);
      cur.box = [Math.min(cur.box[0], l), Math.min(cur.box[1], bottom), Math.max(cur.box[2], r), Math.max(cur.box[3], t)];
    }
  }
  end();
  return runs;
}

/** Characters (Unicode scalar values) in the first `units` UTF-16 code units of `s`. */
export function scalarsIn(s: string, units: number): number {
  let n = 0;
  for (let i = 0; i < Math.min(units, s.length); i++) {
    const c = s.charCodeAt(i);
    // A high surrogate and its low half count once.
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) continue;
    }
    n++;
  }
  return n;
}
