// The current locale as reactive state, and `t()` for components. Reading
// `i18n.locale` inside `t` makes every template that calls `t` re-render
// when the language is switched.

import { toBackendError } from "../backend";
import { bodyKind, formatBytes, isMessageKey, translate, type BodyKind, type Locale, type MessageKey, type Params } from "./index";

const STORAGE_KEY = "phonghop.locale";

function initialLocale(): Locale {
  try {
    return localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "vi";
  } catch {
    return "vi";
  }
}

export const i18n = $state<{ locale: Locale; body: BodyKind }>({ locale: initialLocale(), body: "council" });

/** The body of the meeting on screen decides the words ("kỳ họp" or "phiên họp"). */
export function setBody(body: string): void {
  const kind = bodyKind(body);
  if (i18n.body !== kind) i18n.body = kind;
}

export function setLocale(locale: Locale): void {
  i18n.locale = locale;
  document.documentElement.lang = locale;
  try {
    localStorage.setItem(STORAGE_KEY, locale);
  } catch {
    // Private mode or storage disabled: the choice lasts for this session.
  }
}

export function t(key: MessageKey, params?: Params): string {
  return translate(i18n.locale, key, params, i18n.body);
}

export function bytes(n: number): string {
  return formatBytes(i18n.locale, n);
}

/** Codes whose message carries facts no translation can (a field's size and its limit; a file and what is wrong in it): shown after it. */
const WITH_DETAIL = new Set(["too_large", "bad_sheet"]);

/** What to show for a failed command: the translation for its code, else its message. */
export function errorText(err: unknown): string {
  const e = toBackendError(err);
  const key = `error.${e.code}`;
  if (isMessageKey(key)) return WITH_DETAIL.has(e.code) && e.message ? `${t(key)} (${e.message})` : t(key);
  return e.message || t("error.generic");
}
