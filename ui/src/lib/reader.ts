// Shared reader vocabulary: tools, colours, modes.

import type { MessageKey } from "./i18n";

export type Tool = "none" | "highlight" | "pen" | "note";
export type Mode = "scroll" | "page";
export type Fit = "width" | "page";

export const COLORS: readonly { value: string; label: MessageKey }[] = [
  { value: "#ffd54f", label: "color.yellow" },
  { value: "#81c784", label: "color.green" },
  { value: "#64b5f6", label: "color.blue" },
  { value: "#f48fb1", label: "color.pink" },
];

export const MIN_ZOOM = 0.25;
export const MAX_ZOOM = 5;

export function clampZoom(z: number): number {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));
}

/** Default page size (A4 in points) until the paper's text has loaded. */
export const A4 = { width: 595, height: 842 };
