import { describe, expect, it } from "vitest";
import { parseSnippet } from "./snippet";

describe("parseSnippet", () => {
  it("splits the «match» out of its context", () => {
    expect(parseSnippet("…thông qua «Nghị quyết» về…")).toEqual([
      { text: "…thông qua ", match: false },
      { text: "Nghị quyết", match: true },
      { text: " về…", match: false },
    ]);
  });
  it("keeps an unbalanced marker as plain text", () => {
    expect(parseSnippet("a « b")).toEqual([{ text: "a « b", match: false }]);
  });
});
