import { describe, expect, it } from "vitest";
import { boxToCss, cssToPdf, imageWidthBucket } from "./geometry";

describe("geometry", () => {
  it("flips PDF boxes (origin bottom-left) into CSS (origin top-left)", () => {
    expect(boxToCss([10, 700, 20, 712], 842, 2)).toEqual({ left: 20, top: 260, width: 20, height: 24 });
  });
  it("maps a CSS point back to PDF points", () => {
    expect(cssToPdf(20, 260, 842, 2)).toEqual({ x: 10, y: 712 });
  });
  it("buckets image widths so small zoom steps reuse cached images", () => {
    expect(imageWidthBucket(800, 1)).toBe(800);
    expect(imageWidthBucket(801, 1)).toBe(960);
    expect(imageWidthBucket(800, 2)).toBe(1600);
    expect(imageWidthBucket(100000, 2)).toBe(4800);
  });
});
