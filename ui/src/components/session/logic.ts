// Pure session logic: rule and result wording, vote and queue helpers, poll
// templates. No Svelte, no backend: unit-tested in logic.test.ts.

import type { MajorityRule, PollView, SessionView, SpeakerView, Threshold } from "../../lib/backend";
import { translate, type BodyKind, type Locale, type MessageKey, type Params } from "../../lib/i18n";

/** A language, and the body whose words it uses (a council's by default). */
export type Lang = Locale | { locale: Locale; body: BodyKind };
const localeOf = (lang: Lang): Locale => (typeof lang === "string" ? lang : lang.locale);
const tr = (lang: Lang, key: MessageKey, params?: Params) =>
  typeof lang === "string" ? translate(lang, key, params) : translate(lang.locale, key, params, lang.body);

export const MORE_THAN_HALF_OF_ALL: MajorityRule = { base: "all_members", threshold: { kind: "more_than_half" }, quorum: null };
export const TWO_THIRDS_OF_ALL: MajorityRule = { base: "all_members", threshold: { kind: "at_least_two_thirds" }, quorum: null };

function thresholdText(locale: Lang, th: Threshold): string {
  switch (th.kind) {
    case "more_than_half":
      return tr(locale, "rule.threshold.more_than_half");
    case "at_least_two_thirds":
      return tr(locale, "rule.threshold.at_least_two_thirds");
    case "fraction":
      return tr(locale, th.strict ? "rule.threshold.more_than" : "rule.threshold.at_least", {
        n: th.numerator,
        d: th.denominator,
      });
  }
}

/** "quá nửa tổng số đại biểu · Công khai" (the quorum, if any, in between). */
export function ruleText(locale: Lang, rule: MajorityRule, secret: boolean): string {
  const parts = [`${thresholdText(locale, rule.threshold)} ${tr(locale, `rule.base.${rule.base}`)}`];
  if (rule.quorum) parts.push(tr(locale, "rule.quorum", { threshold: thresholdText(locale, rule.quorum) }));
  parts.push(tr(locale, secret ? "rule.secret" : "rule.named"));
  return parts.join(" · ");
}

/** A share as "76%" or "66,7%" (one decimal only when needed), in the locale's format. */
export function percent(locale: Locale, count: number, base: number): string {
  const share = base > 0 ? count / base : 0;
  return new Intl.NumberFormat(locale === "vi" ? "vi-VN" : "en-GB", {
    style: "percent",
    maximumFractionDigits: 1,
  }).format(share);
}

/** "Tán thành 38 (76% của 50 đại biểu) → THÔNG QUA", or null while the poll is not closed. */
export function resultText(locale: Lang, poll: Pick<PollView, "options" | "outcome" | "rule">): string | null {
  const o = poll.outcome;
  if (!o) return null;
  const verdict = tr(locale, o.passed ? "vote.passed" : "vote.notPassed");
  const line = tr(locale, "vote.result", {
    option: poll.options[0] ?? "",
    count: o.approve,
    percent: percent(localeOf(locale), o.approve, o.baseCount),
    base: tr(locale, `vote.base.${poll.rule.base}`, { n: o.baseCount }),
    verdict,
  });
  return o.quorumMet ? line : `${line} · ${tr(locale, "vote.noQuorum")}`;
}

/** "Không tán thành 1 (25%) · Không biểu quyết 0 (0%)": the options after the approving one, with their share of the rule's base. */
export function otherCountsText(locale: Lang, poll: Pick<PollView, "options" | "counts" | "outcome">): string {
  const base = poll.outcome?.baseCount ?? 0;
  return poll.options
    .slice(1)
    .map((o, i) => {
      const n = poll.counts?.[i + 1] ?? 0;
      return `${o} ${n} (${percent(localeOf(locale), n, base)})`;
    })
    .join(" · ");
}

/** The poll the vote panel is about: an open one I may vote in; else null. */
export function pollForMe(session: SessionView | null): PollView | null {
  if (!session) return null;
  return session.polls.find((p) => p.status === "open" && p.iAmEligible) ?? null;
}

/** Whether the panel still asks me to choose: the poll is open and I have no ballot (a refused one is shown, not retried). */
export function mustChoose(poll: PollView): boolean {
  return poll.status === "open" && poll.myBallot === null;
}

export function currentSpeaker(session: SessionView | null): SpeakerView | null {
  return session?.speakers.find((s) => s.status === "speaking") ?? null;
}

/** Waiting requests, oldest first. */
export function queue(session: SessionView | null): SpeakerView[] {
  return session?.speakers.filter((s) => s.status === "waiting") ?? [];
}

/** My request that is still waiting or speaking, and my place in the queue (1-based, 0 when speaking). */
export function myRequest(session: SessionView | null): { request: SpeakerView; position: number } | null {
  if (!session) return null;
  const mine = session.speakers.find((s) => s.personId === session.myId && (s.status === "waiting" || s.status === "speaking"));
  if (!mine) return null;
  return { request: mine, position: mine.status === "speaking" ? 0 : queue(session).indexOf(mine) + 1 };
}

/** "mm:ss" (minutes keep counting past 59). */
export function mmss(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

/**
 * When each current speaker got the floor, by the device's clock: the log
 * does not carry it, so the first time a request is seen speaking counts.
 * Returns a new map holding only the requests speaking now.
 */
export function floorStarts(prev: ReadonlyMap<string, number>, speakers: SpeakerView[], now: number): Map<string, number> {
  const next = new Map<string, number>();
  for (const s of speakers) if (s.status === "speaking") next.set(s.id, prev.get(s.id) ?? now);
  return next;
}

export type TemplateName = "resolution" | "dismissal" | "custom";

export interface PollDraft {
  question: string;
  options: string[];
  secret: boolean;
  rule: MajorityRule;
}

/**
 * A poll to start from. Questions and options are the official record, so
 * they are always in Vietnamese whatever the chair's interface language.
 */
export function template(name: TemplateName, itemTitle: string | null): PollDraft {
  const options = (["vote.option.approve", "vote.option.disapprove", "vote.option.abstain"] as MessageKey[]).map((k) =>
    translate("vi", k),
  );
  switch (name) {
    case "resolution":
      return {
        question: translate("vi", "chair.template.resolutionQuestion", { title: itemTitle ?? "…" }),
        options,
        secret: false,
        rule: MORE_THAN_HALF_OF_ALL,
      };
    case "dismissal":
      return { question: translate("vi", "chair.template.dismissalQuestion"), options, secret: true, rule: TWO_THIRDS_OF_ALL };
    case "custom":
      return { question: itemTitle ?? "", options, secret: false, rule: MORE_THAN_HALF_OF_ALL };
  }
}

/** Options typed one per line: trimmed, NFC, empty lines dropped. */
export function parseOptions(text: string): string[] {
  return text
    .split("\n")
    .map((o) => o.trim().normalize("NFC"))
    .filter((o) => o.length > 0);
}

/** What stops a draft from being created, as a message key (null: fine). */
export function draftProblem(d: PollDraft): MessageKey | null {
  if (!d.question.trim()) return "chair.problem.question";
  // A template's gaps ("Miễn nhiệm chức danh … đối với ông (bà) …") left unfilled.
  if (d.question.includes("…")) return "chair.problem.placeholder";
  if (d.options.length < 2) return "chair.problem.options";
  return null;
}

/** An id made only of `[A-Za-z0-9_-]` (the hub's rule for ids). */
export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replace(/-/g, "")}`;
}

/** Key of a chair focus, to notice when it changes. */
export function focusKey(f: SessionView["chairFocus"]): string {
  return f ? `${f.documentId}#${f.page}` : "";
}

/** What the chair must confirm before an action the hub guards: the quorum, and members who have not voted. */
export interface ChairGuard {
  /** Fewer voting members checked in than the quorum needs. */
  belowQuorum: boolean;
  present: number;
  total: number;
  required: number;
  /** Closing a poll: eligible members who have not voted. */
  missing: number;
  eligible: number;
  /** Their names (named polls only; a secret poll shows the count). */
  missingNames: string[];
}

/** The guard on starting the session or opening a poll (`poll` null), or on closing `poll`. */
export function chairGuard(view: SessionView, poll: PollView | null): ChairGuard {
  const a = view.attendance;
  const closing = poll !== null && poll.status === "open";
  return {
    belowQuorum: !a.quorumMet,
    present: a.present,
    total: a.total,
    required: a.required,
    missing: closing ? poll.notVotedCount : 0,
    eligible: poll?.eligible ?? 0,
    missingNames: closing && !poll.secret ? poll.notVoted : [],
  };
}

/** Whether the action needs the chair's confirmation. */
export function needsConfirmation(g: ChairGuard): boolean {
  return g.belowQuorum || g.missing > 0;
}

/** The confirmation's lines, most important first. */
export function guardLines(locale: Lang, g: ChairGuard): string[] {
  const lines: string[] = [];
  if (g.missing > 0) {
    lines.push(
      g.missingNames.length > 0
        ? tr(locale, "chair.guard.missingNamed", { count: g.missing, eligible: g.eligible, names: g.missingNames.join(", ") })
        : tr(locale, "chair.guard.missing", { count: g.missing, eligible: g.eligible }),
    );
  }
  if (g.belowQuorum) {
    lines.push(tr(locale, "chair.guard.belowQuorum", { present: g.present, total: g.total, required: g.required }));
  }
  return lines;
}
