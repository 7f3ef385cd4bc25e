import { describe, expect, it } from "vitest";
import vi from "./vi.json";
import en from "./en.json";
import { bodyKind, TERM_NAMES, translate } from "./index";

// `{{session}}` and the like are the body's words, not placeholders.
const placeholders = (s: string) => [...s.replace(/\{\{\w+\}\}/g, "").matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("message files", () => {
  it("vi.json and en.json have exactly the same keys", () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(vi).sort());
  });

  it("every message uses the same placeholders in both languages", () => {
    for (const [key, text] of Object.entries(vi)) {
      expect(placeholders(en[key as keyof typeof en]), `placeholders of ${key}`).toEqual(placeholders(text));
    }
  });

  it("uses only the body's words it knows", () => {
    for (const file of [vi, en]) {
      for (const [key, text] of Object.entries(file)) {
        for (const m of text.matchAll(/\{\{(\w+)\}\}/g)) expect(TERM_NAMES, `${key}: {{${m[1]}}}`).toContain(m[1]?.toLowerCase());
      }
    }
  });

  it("speaks of a council's sessions and delegates, a committee's meetings and members", () => {
    expect(bodyKind("HĐND tỉnh Sơn Hà khóa XI")).toBe("council");
    expect(bodyKind("Hội đồng nhân dân huyện Yên Lạc")).toBe("council");
    expect(bodyKind("UBND tỉnh Sơn Hà")).toBe("committee");
    expect(bodyKind("Ủy ban nhân dân thành phố")).toBe("committee");
    expect(bodyKind("Ban chỉ đạo")).toBe("other");
    expect(translate("vi", "chair.startSession", undefined, "council")).toBe("Khai mạc kỳ họp");
    expect(translate("vi", "chair.startSession", undefined, "committee")).toBe("Khai mạc phiên họp");
    expect(translate("vi", "chair.attendance", { present: 3, total: 5 }, "committee")).toBe("Điểm danh: 3/5 thành viên");
    expect(translate("vi", "sec.role.delegate", undefined, "committee")).toBe("Thành viên");
    expect(translate("en", "chair.notVotedCount", { count: 1 }, "council")).toBe("Not yet voted: 1 delegate");
    expect(translate("en", "chair.notVotedCount", { count: 2 }, "committee")).toBe("Not yet voted: 2 members");
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
