import { describe, expect, it } from "vitest";
import type { TauriTransport } from "./backend";
import { dropPosition, fromLocalInput, nudge, TauriSecretariat, toLocalInput, type SecItem } from "./secretariat";

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

describe("meeting time in Vietnam time", () => {
  it("round-trips a datetime-local value through epoch milliseconds (UTC+7)", () => {
    const ms = fromLocalInput("2026-12-08T08:00");
    expect(ms).toBe(Date.UTC(2026, 11, 8, 1, 0));
    expect(toLocalInput(ms)).toBe("2026-12-08T08:00");
  });
  it("refuses what is not a full date and time", () => {
    expect(fromLocalInput("")).toBeNull();
    expect(fromLocalInput("2026-12-08")).toBeNull();
    expect(toLocalInput(null)).toBe("");
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
