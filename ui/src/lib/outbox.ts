// Outbox commands for people: a refusal's headline (translated by its code
// when we have words for it) with the hub's own reason beside it — the
// reason names the field and the limit, or the cause — and what each
// command concerns. Pure (locale passed in), so it is tested without Svelte.

import type { OutboxConcern, OutboxItem, Refusal } from "./backend";
import { isMessageKey, translate, type Locale } from "./i18n";

/** The line shown above the hub's reason. */
export function refusalHeadline(locale: Locale, r: Refusal): string {
  const key = `error.${r.code}`;
  return isMessageKey(key) ? translate(locale, key) : translate(locale, "outbox.refused");
}

/** The hub's reason as shown under the headline. */
export function refusalReason(locale: Locale, r: Refusal): string {
  return translate(locale, "outbox.reason", { reason: r.message || r.code });
}

/** What a command is about, e.g. "Ghi chú của tôi · trang 3". */
export function concernLabel(locale: Locale, c: OutboxConcern): string {
  switch (c.kind) {
    case "annotation":
      return c.page !== null
        ? translate(locale, "outbox.concern.annotationPage", { page: c.page + 1 })
        : translate(locale, "outbox.concern.annotation");
    case "poll":
      return translate(locale, "outbox.concern.poll");
    case "speaker_request":
      return translate(locale, "outbox.concern.speakerRequest");
    case "attendance":
      return translate(locale, "outbox.concern.attendance");
    case "session":
      return translate(locale, "outbox.concern.session");
  }
}

/**
 * What the meeting's outbox list shows: every refusal not yet dismissed,
 * and commands that still wait after a failed send. A command waiting for
 * its first try is the normal "saved on this device" and is shown where
 * it is made, not here.
 */
export function outboxNotices(items: OutboxItem[]): OutboxItem[] {
  return items.filter((i) => i.state === "refused" || i.attempts > 0);
}
