// Components get the backend from a Svelte context, never from
// @tauri-apps/api, so every screen runs against any `Backend`.

import { getContext, setContext } from "svelte";
import type { Backend } from "./backend";

const KEY = Symbol("backend");

export function provideBackend(backend: Backend): void {
  setContext(KEY, backend);
}

export function useBackend(): Backend {
  const backend = getContext<Backend | undefined>(KEY);
  if (!backend) throw new Error("no Backend in context: wrap the screen in <App>");
  return backend;
}
