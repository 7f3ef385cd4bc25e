// Conversions between PDF points (origin bottom-left, y up) and CSS pixels
// of a page drawn at `scale` pixels per point (origin top-left, y down).

import type { Box, Point, Rect } from "./backend";

export interface CssRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export function boxToCss([l, b, r, t]: Box, pageHeight: number, scale: number): CssRect {
  return { left: l * scale, top: (pageHeight - t) * scale, width: (r - l) * scale, height: (t - b) * scale };
}

export function rectToCss(r: Rect, pageHeight: number, scale: number): CssRect {
  return boxToCss([r.left, r.bottom, r.right, r.top], pageHeight, scale);
}

/** A point inside the page element (CSS px from its top-left) to PDF points. */
export function cssToPdf(x: number, y: number, pageHeight: number, scale: number): Point {
  return { x: round2(x / scale), y: round2(pageHeight - y / scale) };
}

/** Rounds to 1/100 point: plenty for ink, and keeps the stored JSON small. */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Width in device pixels to request a page image at. Rounded up to a step
 * so that small zoom changes reuse the images already rendered and cached.
 */
export function imageWidthBucket(cssWidth: number, dpr: number, step = 160): number {
  const px = Math.max(1, cssWidth * Math.max(1, dpr));
  return Math.min(4800, Math.ceil(px / step) * step);
}
