import { describe, expect, it } from "vitest";
import type { OutboxItem } from "./backend";
import { concernLabel, outboxNotices, refusalHeadline, refusalReason } from "./outbox";

const item = (over: Partial<OutboxItem>): OutboxItem => ({
  commandId: "c-1",
  command: "add_annotation",
  concern: { kind: "annotation", id: "a1", documentId: "d1", page: 2 },
  state: "pending",
  refusal: null,
  attempts: 0,
  lastError: null,
  createdAt: 1,
  ...over,
});

describe("outbox notices", () => {
  it("translate a known code and keep the hub's reason, which names the limit", () => {
    const r = { code: "too_large", message: "note text is 3,145,728 bytes; the limit is 16,384" };
    expect(refusalHeadline("vi", r)).toBe("Nội dung vượt quá giới hạn cho phép.");
    expect(refusalReason("vi", r)).toContain("note text is 3,145,728 bytes; the limit is 16,384");
    expect(refusalHeadline("en", { code: "some_new_code", message: "x" })).toBe("The meeting hub did not accept this.");
  });

  it("say what each command concerns", () => {
    expect(concernLabel("vi", item({}).concern)).toBe("Ghi chú của tôi · trang 3");
    expect(concernLabel("vi", { kind: "attendance", id: null, documentId: null, page: null })).toBe("Điểm danh");
    expect(concernLabel("en", { kind: "poll", id: "p1", documentId: null, page: null })).toBe("Vote");
  });

  it("list refusals and commands that failed to send, not the ones simply queued", () => {
    const refused = item({ commandId: "r", state: "refused", refusal: { commandId: "r", code: "invalid", message: "m" } });
    const retrying = item({ commandId: "w", attempts: 2, lastError: "hub_unreachable: …" });
    const queued = item({ commandId: "q" });
    expect(outboxNotices([refused, retrying, queued]).map((i) => i.commandId)).toEqual(["r", "w"]);
  });
});
