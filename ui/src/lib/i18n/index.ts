// Messages and the pure translate function. Vietnamese is the source of
// truth for the keys (`MessageKey`); en.json must have exactly the same keys
// (checked by the type below and by i18n.test.ts).

import vi from "./vi.json";
import en from "./en.json";

export type MessageKey = keyof typeof vi;
export type Locale = "vi" | "en";
export type Params = Record<string, string | number>;

export const LOCALES: readonly Locale[] = ["vi", "en"];

export const messages: Record<Locale, Record<MessageKey, string>> = {
  vi,
  en: en satisfies Record<MessageKey, string>,
};

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(vi, key);
}

/**
 * What kind of body meets: a People's Council (HĐND) holds sessions of
 * delegates ("kỳ họp", "đại biểu"), a People's Committee (UBND) meetings
 * of members ("phiên họp", "thành viên"). Messages say `{{session}}`,
 * `{{member}}`, `{{members}}` (capitalised: `{{Session}}` …) and get the
 * body's words.
 */
export type BodyKind = "council" | "committee" | "other";

const TERMS: Record<Locale, Record<BodyKind, Record<string, string>>> = {
  vi: {
    council: { session: "kỳ họp", member: "đại biểu", members: "đại biểu" },
    committee: { session: "phiên họp", member: "thành viên", members: "thành viên" },
    other: { session: "cuộc họp", member: "thành viên", members: "thành viên" },
  },
  en: {
    council: { session: "session", member: "delegate", members: "delegates" },
    committee: { session: "meeting", member: "member", members: "members" },
    other: { session: "meeting", member: "member", members: "members" },
  },
};
export const TERM_NAMES = Object.keys(TERMS.vi.council);

/** The kind of body from its name: "HĐND tỉnh Sơn Hà", "Ủy ban nhân dân huyện …". */
export function bodyKind(body: string): BodyKind {
  const f = body
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .replace(/[đĐ]/g, "d")
    .toLowerCase();
  if (/\bhdnd\b|hoi dong nhan dan/.test(f)) return "council";
  if (/\bubnd\b|uy ban nhan dan/.test(f)) return "committee";
  return "other";
}

function withTerms(locale: Locale, body: BodyKind, text: string): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const word = TERMS[locale][body][name.toLowerCase()];
    if (word === undefined) return whole;
    return name[0] === name[0]?.toUpperCase() ? word.charAt(0).toUpperCase() + word.slice(1) : word;
  });
}

/** Plural categories through the platform's rules (Vietnamese has one form). */
const pluralRules: Record<Locale, Intl.PluralRules> = {
  vi: new Intl.PluralRules("vi"),
  en: new Intl.PluralRules("en-GB"),
};

/**
 * `{name}` placeholders are replaced from `params`; unknown ones stay
 * visible. `{name:one=…|other=…}` picks the form for the number in `name`
 * by the locale's plural rules ("1 person", "2 people"); `other` is the
 * fallback.
 */
export function translate(locale: Locale, key: MessageKey, params?: Params, body: BodyKind = "council"): string {
  const template = withTerms(locale, body, messages[locale][key] ?? messages.vi[key] ?? key);
  if (!params) return template;
  return template
    .replace(/\{(\w+):([^{}]*)\}/g, (whole, name: string, forms: string) => {
      if (!Object.hasOwn(params, name)) return whole;
      const byCategory = new Map(
        forms.split("|").map((f) => {
          const at = f.indexOf("=");
          return [f.slice(0, at).trim(), f.slice(at + 1)] as const;
        }),
      );
      const category = pluralRules[locale].select(Number(params[name]));
      return byCategory.get(category) ?? byCategory.get("other") ?? whole;
    })
    .replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

/** Bytes as "12,5 MB" in the locale's number format. */
export function formatBytes(locale: Locale, bytes: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let n = Math.max(0, bytes);
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  const fmt = new Intl.NumberFormat(locale === "vi" ? "vi-VN" : "en-GB", {
    maximumFractionDigits: u === 0 ? 0 : 1,
  });
  return `${fmt.format(n)} ${units[u]}`;
}

/** Meetings take place in Vietnam: times are shown in Vietnam time whatever
 * the device's own time zone (a laptop set to UTC must still say 08:00). */
export const MEETING_TIME_ZONE = "Asia/Ho_Chi_Minh";

export function formatDateTime(locale: Locale, ms: number): string {
  return new Intl.DateTimeFormat(locale === "vi" ? "vi-VN" : "en-GB", {
    timeZone: MEETING_TIME_ZONE,
    weekday: "long",
    day: "numeric",
    month: "numeric",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  }).format(new Date(ms));
}
