import { describe, expect, it } from "vitest";
import type { PollView, SessionView, SpeakerView } from "../../lib/backend";
import vi from "../../lib/i18n/vi.json";
import { translate } from "../../lib/i18n";
import {
  MORE_THAN_HALF_OF_ALL,
  TWO_THIRDS_OF_ALL,
  draftProblem,
  floorStarts,
  focusKey,
  mmss,
  mustChoose,
  myRequest,
  newId,
  otherCountsText,
  parseOptions,
  percent,
  pollForMe,
  chairGuard,
  guardLines,
  needsConfirmation,
  resultText,
  ruleText,
  template,
} from "./logic";

const poll = (over: Partial<PollView> = {}): PollView => ({
  id: "poll-1",
  item: null,
  question: "Thông qua Nghị quyết",
  options: ["Tán thành", "Không tán thành", "Không biểu quyết"],
  secret: false,
  rule: MORE_THAN_HALF_OF_ALL,
  ruleCode: "more_than_half_of_all",
  status: "open",
  eligible: 50,
  iAmEligible: true,
  received: 0,
  notVoted: [],
  notVotedCount: 50,
  counts: null,
  presentAtOpen: 47,
  outcome: null,
  myChoice: null,
  myBallot: null,
  myRefusal: null,
  ...over,
});

const speaker = (id: string, personId: string, status: SpeakerView["status"]): SpeakerView => ({
  id,
  personId,
  name: personId,
  item: null,
  status,
  requestedAt: 0,
});

const session = (over: Partial<SessionView> = {}): SessionView => ({
  myId: "me",
  myRole: "delegate",
  status: "in_session",
  currentItem: null,
  chairFocus: null,
  chairFocusWithheld: false,
  attendance: { present: 0, total: 0, required: 0, quorumMet: false, uncheckedBallot: "check_in", overrides: [], people: [] },
  speakers: [],
  polls: [],
  ...over,
});

describe("rule wording", () => {
  it("says the rule in the glossary's words", () => {
    expect(ruleText("vi", MORE_THAN_HALF_OF_ALL, false)).toBe("quá nửa tổng số đại biểu · Công khai");
    expect(ruleText("vi", TWO_THIRDS_OF_ALL, true)).toBe("ít nhất hai phần ba tổng số đại biểu · Bỏ phiếu kín");
    expect(ruleText("en", MORE_THAN_HALF_OF_ALL, false)).toBe("more than half of all delegates · Named vote");
  });
  it("says custom fractions and a quorum", () => {
    const rule = {
      base: "votes_cast" as const,
      threshold: { kind: "fraction" as const, numerator: 3, denominator: 5, strict: false },
      quorum: { kind: "at_least_two_thirds" as const },
    };
    expect(ruleText("vi", rule, false)).toBe(
      "ít nhất 3/5 số phiếu biểu quyết · khi có ít nhất hai phần ba tổng số đại biểu có mặt · Công khai",
    );
  });
});

describe("results", () => {
  it("formats the approvals against the rule's base", () => {
    const p = poll({
      status: "closed",
      outcome: { passed: true, quorumMet: true, approve: 38, baseCount: 50, required: 26, cast: 45 },
    });
    expect(resultText("vi", p)).toBe("Tán thành 38 (76% của 50 đại biểu) → THÔNG QUA");
    expect(resultText("en", p)).toBe("Tán thành 38 (76% of 50 delegates) → PASSED");
  });
  it("says when it did not pass, and why the quorum failed", () => {
    const p = poll({
      status: "closed",
      rule: { ...MORE_THAN_HALF_OF_ALL, quorum: { kind: "at_least_two_thirds" } },
      outcome: { passed: false, quorumMet: false, approve: 30, baseCount: 50, required: 26, cast: 30 },
    });
    expect(resultText("vi", p)).toBe("Tán thành 30 (60% của 50 đại biểu) → KHÔNG THÔNG QUA · không đủ số đại biểu dự họp");
  });
  it("gives the other options' counts with their share of the same base", () => {
    const p = poll({
      status: "closed",
      counts: [3, 1, 0],
      outcome: { passed: true, quorumMet: true, approve: 3, baseCount: 4, required: 3, cast: 4 },
    });
    expect(otherCountsText("vi", p)).toBe("Không tán thành 1 (25%) · Không biểu quyết 0 (0%)");
  });
  it("has no result before closing", () => {
    expect(resultText("vi", poll())).toBeNull();
  });
  it("percentages: one decimal when needed, in the locale's format, 0 on an empty base", () => {
    expect(percent("vi", 2, 3)).toBe("66,7%");
    expect(percent("en", 2, 3)).toBe("66.7%");
    expect(percent("vi", 1, 2)).toBe("50%");
    expect(percent("vi", 0, 0)).toBe("0%");
  });
});

describe("the vote panel", () => {
  it("is about an open poll I may vote in", () => {
    const closed = poll({ id: "a", status: "closed" });
    const other = poll({ id: "b", iAmEligible: false });
    const mine = poll({ id: "c" });
    expect(pollForMe(session({ polls: [closed, other, mine] }))?.id).toBe("c");
    expect(pollForMe(session({ polls: [closed, other] }))).toBeNull();
    expect(pollForMe(null)).toBeNull();
  });
  it("asks me to choose only until I have a ballot", () => {
    expect(mustChoose(poll())).toBe(true);
    expect(mustChoose(poll({ myBallot: "pending", myChoice: 0 }))).toBe(false);
    expect(mustChoose(poll({ myBallot: "refused", myChoice: 0 }))).toBe(false);
    expect(mustChoose(poll({ status: "closed" }))).toBe(false);
  });
});

describe("speakers and attendance", () => {
  it("finds my request and my place in the queue", () => {
    const s = session({
      speakers: [speaker("r1", "a", "speaking"), speaker("r2", "b", "waiting"), speaker("r3", "me", "waiting"), speaker("r0", "me", "done")],
    });
    expect(myRequest(s)).toEqual({ request: s.speakers[2], position: 2 });
    expect(myRequest(session({ speakers: [speaker("r1", "me", "speaking")] }))?.position).toBe(0);
    expect(myRequest(session({ speakers: [speaker("r1", "me", "withdrawn")] }))).toBeNull();
  });
  it("times a speaker from the first time they are seen speaking", () => {
    const first = floorStarts(new Map(), [speaker("r1", "a", "speaking"), speaker("r2", "b", "waiting")], 1000);
    expect([...first]).toEqual([["r1", 1000]]);
    const later = floorStarts(first, [speaker("r1", "a", "speaking")], 5000);
    expect(later.get("r1")).toBe(1000);
    expect(floorStarts(later, [speaker("r1", "a", "done"), speaker("r2", "b", "speaking")], 9000)).toEqual(new Map([["r2", 9000]]));
  });
  it("formats the timer as mm:ss", () => {
    expect(mmss(151_000)).toBe("02:31");
    expect(mmss(0)).toBe("00:00");
    expect(mmss(-5)).toBe("00:00");
    expect(mmss(3_725_000)).toBe("62:05");
  });
  it("asks the chair to confirm closing with missing voters and going on below quorum", () => {
    const view = session();
    view.attendance = { ...view.attendance, present: 2, total: 5, required: 4, quorumMet: false };
    const open = poll({ status: "open", secret: false, eligible: 5, notVoted: ["Bà B", "Ông C", "Ông D"], notVotedCount: 3 });
    const g = chairGuard(view, open);
    expect(needsConfirmation(g)).toBe(true);
    expect(guardLines("vi", g)).toEqual([
      "Còn 3/5 đại biểu chưa biểu quyết: Bà B, Ông C, Ông D.",
      "Chưa đủ số đại biểu dự họp: có mặt 2/5, cần 4.",
    ]);
    const secret = chairGuard(view, { ...open, secret: true, notVoted: [] });
    expect(guardLines("en", secret)[0]).toBe("3 of 5 members have not voted.");
    view.attendance = { ...view.attendance, present: 4, quorumMet: true };
    expect(needsConfirmation(chairGuard(view, null))).toBe(false);
    expect(needsConfirmation(chairGuard(view, { ...open, notVotedCount: 0, notVoted: [] }))).toBe(false);
  });
});

describe("poll templates", () => {
  it("resolution: more than half of all, named, in Vietnamese whatever the interface", () => {
    const d = template("resolution", "Nghị quyết về dự toán ngân sách năm 2027");
    expect(d.question).toBe("Thông qua Nghị quyết về dự toán ngân sách năm 2027");
    expect(d.options).toEqual([vi["vote.option.approve"], vi["vote.option.disapprove"], vi["vote.option.abstain"]]);
    expect(d.options).toEqual(["Tán thành", "Không tán thành", "Không biểu quyết"]);
    expect(d.rule).toEqual(MORE_THAN_HALF_OF_ALL);
    expect(d.secret).toBe(false);
  });
  it("dismissal: two thirds of all, secret ballot", () => {
    const d = template("dismissal", null);
    expect(d.rule).toEqual(TWO_THIRDS_OF_ALL);
    expect(d.secret).toBe(true);
  });
  it("custom options: one per line, trimmed, NFC; problems named", () => {
    expect(parseOptions(" Đồng ý \n\nKhông đồng ý\n")).toEqual(["Đồng ý", "Không đồng ý"]);
    expect(parseOptions("Đồng y\u0301")).toEqual(["Đồng ý"]);
    expect(draftProblem({ ...template("custom", null), question: " " })).toBe("chair.problem.question");
    expect(draftProblem({ ...template("custom", "x"), options: ["Có"] })).toBe("chair.problem.options");
    expect(draftProblem(template("resolution", "x"))).toBeNull();
    expect(draftProblem(template("dismissal", null))).toBe("chair.problem.placeholder");
    expect(draftProblem(template("resolution", null))).toBe("chair.problem.placeholder");
  });
  it("makes ids the hub accepts", () => {
    expect(newId("poll")).toMatch(/^poll_[0-9a-f]{32}$/);
  });
  it("keys the chair's focus", () => {
    expect(focusKey(null)).toBe("");
    expect(focusKey({ documentId: "d1", page: 3 })).toBe("d1#3");
  });
});

describe("glossary", () => {
  it("uses the glossary's words verbatim", () => {
    expect(vi["session.checkIn"].toLowerCase()).toBe("điểm danh");
    expect(vi["session.requestSpeak"].toLowerCase()).toBe("đăng ký phát biểu");
    expect(vi["chair.giveFloor"].toLowerCase()).toBe("mời phát biểu");
    expect(vi["session.follow"].toLowerCase()).toBe("theo chủ tọa");
    // A council's words (the body decides: {{member}} is "thành viên" for a committee).
    expect(translate("vi", "chair.quorumMet", undefined, "council").toLowerCase()).toBe("đủ số đại biểu dự họp");
    expect(vi["vote.passed"].toLowerCase()).toBe("thông qua");
    expect(vi["vote.notPassed"].toLowerCase()).toBe("không thông qua");
    expect(vi["rule.secret"].toLowerCase()).toBe("bỏ phiếu kín");
    expect(vi["vote.state.counted"].toLowerCase()).toBe("đã ghi nhận");
    expect(vi["vote.state.pending"].toLowerCase()).toBe("chưa ghi nhận (chờ gửi)");
    expect(vi["vote.state.refused"].toLowerCase()).toBe("không được ghi nhận");
  });
});
