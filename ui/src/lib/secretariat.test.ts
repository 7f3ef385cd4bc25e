import { describe, expect, it } from "vitest";
import type { TauriTransport } from "./backend";
import { dropPosition, fromVnFields, nudge, sameName, TauriSecretariat, toVnFields, type SecItem } from "./secretariat";

function item(id: string, parent: string | null, position: number, siblings: number): SecItem {
  return { id, number: id, depth: parent ? 1 : 0, parent, position, siblings, title: id, presenter: "", plannedMinutes: null, papers: [] };
}

describe("agenda reordering", () => {
  it("moves one place within its siblings and stops at the ends", () => {
    expect(nudge(item("1", null, 1, 3), -1)).toBeNull();
    expect(nudge(item("1", null, 1, 3), 1)).toBe(2);
    expect(nudge(item("3", null, 3, 3), 1)).toBeNull();
    expect(nudge(item("2.2", "2", 2, 2), -1)).toBe(1);
  });

  it("drops only among the same parent's items, at the target's place", () => {
    expect(dropPosition(item("3", null, 3, 4), item("1", null, 1, 4))).toBe(1);
    expect(dropPosition(item("1", null, 1, 4), item("4", null, 4, 4))).toBe(4);
    expect(dropPosition(item("2.1", "2", 1, 2), item("3", null, 3, 4))).toBeNull();
    expect(dropPosition(item("2", null, 2, 4), item("2", null, 2, 4))).toBeNull();
  });
});

describe("duplicate names", () => {
  it("finds the same name whatever the case, diacritics or spacing", () => {
    const people = [{ name: "Nguyễn Văn An" }, { name: "Trần Thị Bình" }];
    expect(sameName(people, "  nguyen  van AN ")).toEqual(["Nguyễn Văn An"]);
    expect(sameName(people, "Đỗ Văn An")).toEqual([]);
    expect(sameName(people, "")).toEqual([]);
  });
});

describe("meeting time in Vietnam time", () => {
  it("reads day first and 24-hour, in Vietnam time (UTC+7), and writes the same back", () => {
    const r = fromVnFields("08/12/2026", "08:00");
    expect(r).toEqual({ ok: true, ms: Date.UTC(2026, 11, 8, 1, 0) });
    expect(toVnFields(r.ok ? r.ms : null)).toEqual({ date: "08/12/2026", time: "08:00" });
    // 22/12, not December the 12th of month 22; afternoon in 24 hours.
    expect(fromVnFields("22/12/2026", "14:30")).toEqual({ ok: true, ms: Date.UTC(2026, 11, 22, 7, 30) });
    expect(fromVnFields(" 1/2/2027 ", "7h05")).toEqual({ ok: true, ms: Date.UTC(2027, 1, 1, 0, 5) });
  });
  it("leaves an empty start empty, and names the field at fault", () => {
    expect(fromVnFields("", "")).toEqual({ ok: true, ms: null });
    expect(toVnFields(null)).toEqual({ date: "", time: "" });
    expect(fromVnFields("12/22/2026", "08:00")).toEqual({ ok: false, field: "date" });
    expect(fromVnFields("31/02/2027", "08:00")).toEqual({ ok: false, field: "date" });
    expect(fromVnFields("", "08:00")).toEqual({ ok: false, field: "date" });
    expect(fromVnFields("22/12/2026", "")).toEqual({ ok: false, field: "time" });
    expect(fromVnFields("22/12/2026", "8 PM")).toEqual({ ok: false, field: "time" });
    expect(fromVnFields("22/12/2026", "24:00")).toEqual({ ok: false, field: "time" });
  });
});

describe("TauriSecretariat", () => {
  it("sends the papers' access as {kind, readers} and maps refusals to BackendError", async () => {
    const calls: { command: string; args?: Record<string, unknown> }[] = [];
    const transport: TauriTransport = {
      invoke: async <T,>(command: string, args?: Record<string, unknown>) => {
        calls.push({ command, args });
        if (command === "sec_invite") throw { code: "not_serving", message: "the hub is not running" };
        return [] as T;
      },
      listen: async () => () => {},
      convertFileSrc: (p) => p,
    };
    const api = new TauriSecretariat(transport, async () => () => {});
    await api.addPapers("m1", "2.1", ["/tmp/a.pdf"], "named", ["p1"]);
    expect(calls[0]).toEqual({
      command: "sec_add_papers",
      args: { meeting: "m1", item: "2.1", paths: ["/tmp/a.pdf"], access: { kind: "named", readers: ["p1"] } },
    });
    await expect(api.invite("p1")).rejects.toMatchObject({ name: "BackendError", code: "not_serving" });
  });
});
