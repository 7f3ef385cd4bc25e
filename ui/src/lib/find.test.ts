import { describe, expect, it } from "vitest";
import type { Box, SearchHit } from "./backend";
import { allMatches, readingOrder, step, viewAt } from "./find";

const box = (n: number): Box => [n, 0, n + 1, 1];
const hit = (documentId: string, page: number, matches: number): SearchHit => ({
  meetingId: "m",
  documentId,
  version: 1,
  page,
  snippet: "",
  matches: Array.from({ length: matches }, (_, i) => [box(i)]),
});

describe("find", () => {
  it("orders papers by their best hit and pages in reading order", () => {
    const ranked = [hit("b", 7, 1), hit("a", 3, 2), hit("b", 2, 1), hit("a", 1, 1)];
    expect(readingOrder(ranked).map((h) => `${h.documentId}${h.page}`)).toEqual(["b2", "b7", "a1", "a3"]);
  });

  it("steps through every match on every page and wraps", () => {
    const hits = readingOrder([hit("a", 0, 2), hit("a", 4, 3)]);
    expect(allMatches(hits)).toHaveLength(5);
    const seen: string[] = [];
    let pos = 0;
    for (let i = 0; i < 6; i++) {
      const v = viewAt(hits, pos);
      seen.push(`${v?.page}:${v?.current}:${v?.position}/${v?.total}`);
      pos = step(pos, 5, 1);
    }
    expect(seen).toEqual(["0:0:1/5", "0:1:2/5", "4:0:3/5", "4:1:4/5", "4:2:5/5", "0:0:1/5"]);
    expect(step(0, 5, -1)).toBe(4);
    expect(step(0, 0, 1)).toBe(0);
  });
});
