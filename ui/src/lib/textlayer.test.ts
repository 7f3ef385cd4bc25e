import { describe, expect, it } from "vitest";
import type { Box } from "./backend";
import { scalarsIn, textRuns } from "./textlayer";

/** Boxes for `text` laid out left to right on one line at `y`, 6 pt a character. */
function line(text: string, x: number, y: number): Box[] {
  return Array.from(text).map((_, i) => [x + i * 6, y, x + i * 6 + 5, y + 10] as Box);
}

describe("textRuns", () => {
  it("keeps one line as one run, and starts a run on each new line", () => {
    const a = "Điều 1. Phê chuẩn";
    const b = "kế hoạch năm 2027";
    const chars = [...Array.from(a), "\n", ...Array.from(b)];
    const boxes = [...line(a, 72, 700), null, ...line(b, 72, 686)];
    const runs = textRuns(chars, boxes);
    expect(runs.map((r) => r.text)).toEqual([a, b]);
    expect(runs[1]?.start).toBe(Array.from(a).length + 1);
    expect(runs[0]?.length).toBe(Array.from(a).length);
    expect(runs[0]?.box).toEqual([72, 700, 72 + (Array.from(a).length - 1) * 6 + 5, 710]);
  });

  it("splits where the text goes back left, or jumps a table cell's gap", () => {
    const chars = Array.from("abcdef");
    const boxes: Box[] = [
      [10, 100, 15, 110],
      [16, 100, 21, 110],
      // A wide gap: the next cell of a table row.
      [200, 100, 205, 110],
      [206, 100, 211, 110],
      // Back to the left, same height: another column's line.
      [10, 100, 15, 110],
      [16, 100, 21, 110],
    ];
    expect(textRuns(chars, boxes).map((r) => [r.start, r.text])).toEqual([
      [0, "ab"],
      [2, "cd"],
      [4, "ef"],
    ]);
  });

  it("has no run for characters without a box", () => {
    expect(textRuns(["a", "b"], [null, undefined])).toEqual([]);
  });
});

describe("scalarsIn", () => {
  it("counts characters, not UTF-16 units", () => {
    expect(scalarsIn("Hà Nội", 3)).toBe(3);
    expect(scalarsIn("a😀b", 3)).toBe(2);
    expect(scalarsIn("a😀b", 4)).toBe(3);
    expect(scalarsIn("ab", 10)).toBe(2);
  });
});
