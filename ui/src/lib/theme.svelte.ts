// Light theme and the dark-room theme (dim, never pure black), on <html data-theme>.

export type Theme = "light" | "dark";
const STORAGE_KEY = "phonghop.theme";

function initialTheme(): Theme {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === "light" || saved === "dark") return saved;
  } catch {
    // storage unavailable: fall through to the system preference
  }
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export const theme = $state<{ current: Theme }>({ current: initialTheme() });

export function applyTheme(next: Theme): void {
  theme.current = next;
  document.documentElement.dataset.theme = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // session only
  }
}
