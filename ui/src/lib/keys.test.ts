import { describe, expect, it } from "vitest";
import { isFindKey } from "./keys";

const key = (k: string, over: Partial<KeyboardEventInit> = {}, target: EventTarget | null = null) =>
  ({ key: k, ctrlKey: false, metaKey: false, altKey: false, target, ...over }) as unknown as KeyboardEvent;

describe("find keys", () => {
  it("are Ctrl+F, ⌘F and / outside a field", () => {
    expect(isFindKey(key("f", { ctrlKey: true }))).toBe(true);
    expect(isFindKey(key("F", { metaKey: true }))).toBe(true);
    expect(isFindKey(key("/"))).toBe(true);
    expect(isFindKey(key("f"))).toBe(false);
    expect(isFindKey(key("/", { altKey: true }))).toBe(false);
  });
  it("leave a field's typing alone", () => {
    const input = { tagName: "INPUT", isContentEditable: false } as unknown as EventTarget;
    expect(isFindKey(key("/", {}, input))).toBe(false);
  });
});
