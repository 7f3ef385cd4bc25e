import { describe, expect, it } from "vitest";
import vi from "./vi.json";
import en from "./en.json";
import { translate } from "./index";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("message files", () => {
  it("vi.json and en.json have exactly the same keys", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(vi).sort());
  });

  it("every message uses the same placeholders in both languages", () => {
    for (const [key, text] of Object.entries(vi)) {
      expect(placeholders(en[key as keyof typeof en]), `placeholders of ${key}`).toEqual(placeholders(text));
    }
  });

  it("every message is non-empty and in Unicode NFC (tone marks precomposed)", () => {
    for (const file of [vi, en]) {
      for (const [key, text] of Object.entries(file)) {
        expect(text.trim(), key).not.toBe("");
        expect(text.normalize("NFC"), `${key} must be NFC`).toBe(text);
      }
    }
  });

  it("uses the glossary words verbatim", () => {
    expect(vi["conn.offline"].toLowerCase()).toBe("ngoại tuyến");
    expect(vi["conn.synced"].toLowerCase()).toBe("đã đồng bộ");
    expect(vi["conn.syncing"].toLowerCase()).toBe("đang đồng bộ");
    expect(vi["notes.state.saved"].toLowerCase()).toBe("đã lưu trên máy");
    expect(vi["notes.state.sent"].toLowerCase()).toBe("đã gửi");
    expect(vi["tool.highlight"].toLowerCase()).toBe("đánh dấu");
    expect(vi["tool.pen"].toLowerCase()).toBe("bút");
    expect(vi["tool.note"].toLowerCase()).toBe("ghi chú");
    expect(vi["paper.confidential"].toLowerCase()).toBe("mật");
    expect(vi["reader.newVersion"].toLowerCase()).toContain("phiên bản mới");
  });
});

describe("translate", () => {
  it("picks English plural forms by the platform's rules, one form in Vietnamese", () => {
    expect(translate("en", "sec.import.summary", { count: 1 })).toBe("1 person will be added.");
    expect(translate("en", "sec.import.summary", { count: 60 })).toBe("60 people will be added.");
    expect(translate("en", "chair.guard.missing", { count: 1, eligible: 4 })).toBe("1 of 4 members has not voted.");
    expect(translate("en", "search.count", { count: 1, pages: 1 })).toBe("1 result on 1 page");
    expect(translate("en", "search.count", { count: 0, pages: 3 })).toBe("0 results on 3 pages");
    expect(translate("vi", "sec.import.summary", { count: 1 })).toBe("Sẽ thêm 1 người.");
  });
  it("fills placeholders and leaves unknown ones visible", () => {
    expect(translate("vi", "reader.pageOf", { page: 2, total: 14 })).toBe("2 / 14");
    expect(translate("en", "notes.page", {})).toBe("Page {page}");
  });
});

describe("meeting times", () => {
  it("are shown in Vietnam time whatever the device's zone", async () => {
    const { formatDateTime } = await import("./index");
    // 2026-12-08 01:00 UTC is 08:00 in Hà Nội.
    const s = formatDateTime("vi", Date.UTC(2026, 11, 8, 1, 0));
    expect(s).toContain("08:00");
    expect(s).toContain("8/12/2026");
  });
});
