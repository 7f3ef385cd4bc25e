// Keyboard helpers shared by the screens.

/** Whether a key event goes to a field the user is typing in. */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
}

/** Ctrl+F (⌘F) or "/" outside a field: a reader's find. */
export function isFindKey(e: KeyboardEvent): boolean {
  if (isTyping(e.target) || e.altKey) return false;
  const mod = e.ctrlKey || e.metaKey;
  return (mod && (e.key === "f" || e.key === "F")) || (!mod && e.key === "/");
}
