import { describe, expect, it } from "vitest";
import { BackendError, TauriBackend, toBackendError, type TauriTransport } from "./backend";

type Call = { command: string; args: Record<string, unknown> | undefined };

/** A transport that records calls and answers from a table (or rejects). */
function fakeTransport(answers: Record<string, unknown> = {}, reject?: unknown) {
  const calls: Call[] = [];
  const listeners = new Map<string, (e: { payload: unknown }) => void>();
  const transport: TauriTransport = {
    invoke: async <T,>(command: string, args?: Record<string, unknown>) => {
      calls.push({ command, args });
      if (reject !== undefined) throw reject;
      return answers[command] as T;
    },
    listen: async <T,>(event: string, handler: (e: { payload: T }) => void) => {
      listeners.set(event, handler as (e: { payload: unknown }) => void);
      return () => listeners.delete(event);
    },
    convertFileSrc: (path, protocol) => `${protocol}://localhost/${encodeURIComponent(path)}`,
  };
  return { transport, calls, listeners };
}

const annotation = {
  id: "a_1",
  documentId: "d1",
  version: 2,
  page: 0,
  shape: { kind: "note" as const, at: { x: 10, y: 20 } },
  color: "#ffd54f",
  text: "xem lại",
  visibility: "private" as const,
  updatedAt: 1,
  state: "saved" as const,
};

describe("TauriBackend", () => {
  it("calls each command by its snake_case name with camelCase arguments", async () => {
    const { transport, calls } = fakeTransport({ export_annotated: "/tmp/x.pdf" });
    const b = new TauriBackend(transport);
    await b.appStatus();
    await b.join("PH1-abc");
    await b.listMeetings();
    await b.getMeeting("m1");
    await b.getPaperPages("m1", "d1", 2);
    await b.getPageText("m1", "d1", 2, 7);
    await b.search("nghi quyet", null);
    await b.search("ngân sách", "m1");
    await b.listAnnotations("m1", "d1");
    await b.saveAnnotation("m1", annotation);
    await b.deleteAnnotation("m1", "a_1");
    expect(await b.exportAnnotated("m1", "d1", 2)).toBe("/tmp/x.pdf");
    await b.showExport("x.pdf");
    await b.getSession("m1");
    await b.sessionCommand("m1", { type: "cast_ballot", poll: "poll_1", choice: 0 });
    await b.commandState("c-1");
    await b.listOutbox("m1");
    await b.dismissRefusal("c-2");
    await b.listSetAside("m1");
    expect(calls).toEqual([
      { command: "app_status", args: undefined },
      { command: "join", args: { invite: "PH1-abc" } },
      { command: "list_meetings", args: undefined },
      { command: "get_meeting", args: { meetingId: "m1" } },
      { command: "get_paper_pages", args: { meetingId: "m1", documentId: "d1", version: 2 } },
      { command: "get_page_text", args: { meetingId: "m1", documentId: "d1", version: 2, page: 7 } },
      { command: "search", args: { query: "nghi quyet", meetingId: null } },
      { command: "search", args: { query: "ngân sách", meetingId: "m1" } },
      { command: "list_annotations", args: { meetingId: "m1", documentId: "d1" } },
      { command: "save_annotation", args: { meetingId: "m1", annotation } },
      { command: "delete_annotation", args: { meetingId: "m1", annotationId: "a_1" } },
      { command: "export_annotated", args: { meetingId: "m1", documentId: "d1", version: 2 } },
      { command: "show_export", args: { name: "x.pdf" } },
      { command: "get_session", args: { meetingId: "m1" } },
      { command: "session_command", args: { meetingId: "m1", action: { type: "cast_ballot", poll: "poll_1", choice: 0 } } },
      { command: "command_state", args: { commandId: "c-1" } },
      { command: "list_outbox", args: { meetingId: "m1" } },
      { command: "dismiss_refusal", args: { commandId: "c-2" } },
      { command: "list_set_aside", args: { meetingId: "m1" } },
    ]);
  });

  it("turns a rejected {code, message} into a BackendError with that code", async () => {
    const { transport } = fakeTransport({}, { code: "invite_unknown", message: "invite expired" });
    const err = await new TauriBackend(transport).join("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as BackendError).code).toBe("invite_unknown");
    expect((err as BackendError).message).toBe("invite expired");
  });

  it("maps a bare string or Error rejection to code 'unknown', keeping the text", () => {
    expect(toBackendError("boom")).toMatchObject({ code: "unknown", message: "boom" });
    expect(toBackendError(new Error("bang"))).toMatchObject({ code: "unknown", message: "bang" });
    expect(toBackendError({ code: 7 })).toMatchObject({ code: "unknown" });
    expect(toBackendError({ code: "hub_unreachable" })).toMatchObject({ code: "hub_unreachable", message: "" });
  });

  it("builds page URLs on the phonghop scheme with a 0-based page and integer width", () => {
    const { transport } = fakeTransport();
    const b = new TauriBackend(transport);
    const sha = "a".repeat(64);
    expect(b.pageUrl(sha, 3, 1199.6)).toBe(`phonghop://localhost/page/${sha}/3?width=1200`);
  });

  it("uses the Windows form of the scheme when the runtime gives it", () => {
    const { transport } = fakeTransport();
    transport.convertFileSrc = (_p, protocol) => `http://${protocol}.localhost/`;
    const sha = "0".repeat(64);
    expect(new TauriBackend(transport).pageUrl(sha, 0, 160)).toBe(`http://phonghop.localhost/page/${sha}/0?width=160`);
  });

  it("refuses a page URL for something that is not a sha256 (no path injection)", () => {
    const { transport } = fakeTransport();
    expect(() => new TauriBackend(transport).pageUrl("../../etc/passwd", 0, 100)).toThrow(BackendError);
  });

  it("delivers event payloads and unsubscribes", async () => {
    const { transport, listeners } = fakeTransport();
    const seen: unknown[] = [];
    const off = await new TauriBackend(transport).on("paper-updated", (p) => seen.push(p));
    listeners.get("paper-updated")?.({ payload: { meetingId: "m1", documentId: "d1", version: 3 } });
    expect(seen).toEqual([{ meetingId: "m1", documentId: "d1", version: 3 }]);
    off();
    expect(listeners.has("paper-updated")).toBe(false);
  });
});
