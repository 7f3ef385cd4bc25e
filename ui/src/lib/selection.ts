// Text selections on the reader's text layer: one transparent span per
// character, `data-i` its index on the page, inside a page element whose
// `data-page` is the page index.

/** The character index a selection end (node, offset) points at, or null outside a text layer. */
export function charIndex(node: Node | null, offset: number, within?: Element | null): number | null {
  if (!node) return null;
  const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : (node as Element);
  const span = el?.closest<HTMLElement>("[data-i]");
  if (!span || (within && !within.contains(span))) return null;
  const i = Number(span.dataset.i);
  return node.nodeType === Node.TEXT_NODE ? i + Math.min(offset, 1) : i + (offset > 0 ? 1 : 0);
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
