// Text selections on the reader's text layer: one transparent span per
// run of characters (lib/textlayer.ts), `data-i` the index of its first
// character on the page and `data-n` its length, inside a page element
// whose `data-page` is the page index.

import { scalarsIn } from "./textlayer";

/** The character index a selection end (node, offset) points at, or null outside a text layer. */
export function charIndex(node: Node | null, offset: number, within?: Element | null): number | null {
  if (!node) return null;
  const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : (node as Element);
  const span = el?.closest<HTMLElement>("[data-i]");
  if (!span || (within && !within.contains(span))) return null;
  const i = Number(span.dataset.i);
  const n = Number(span.dataset.n ?? 1);
  if (node.nodeType === Node.TEXT_NODE) return i + Math.min(scalarsIn((node as Text).data, offset), n);
  return i + (offset > 0 ? n : 0);
}

/** The window's selection as a character range on one page, or null. */
export function selectedRange(sel: Selection | null): { page: number; start: number; end: number } | null {
  if (!sel || sel.isCollapsed || !sel.anchorNode || !sel.focusNode) return null;
  const pageOf = (n: Node) =>
    (n.nodeType === Node.TEXT_NODE ? n.parentElement : (n as Element))?.closest<HTMLElement>("[data-page][data-testid=page]");
  const pa = pageOf(sel.anchorNode);
  const pf = pageOf(sel.focusNode);
  if (!pa || pa !== pf) return null;
  const a = charIndex(sel.anchorNode, sel.anchorOffset, pa);
  const f = charIndex(sel.focusNode, sel.focusOffset, pa);
  if (a === null || f === null || a === f) return null;
  return { page: Number(pa.dataset.page), start: Math.min(a, f), end: Math.max(a, f) };
}
