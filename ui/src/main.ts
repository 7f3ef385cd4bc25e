import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { createTauriBackend, type Backend } from "./lib/backend";

declare global {
  interface Window {
    __TAURI_INTERNALS__?: unknown;
  }
}

async function pickBackend(): Promise<Backend> {
  // `import.meta.env.DEV` is the literal `false` in a production build, so
  // this branch and the dev backend's module are dropped from dist/.
  if (import.meta.env.DEV && !window.__TAURI_INTERNALS__) {
    const { DevBackend } = await import("./lib/devBackend");
    return new DevBackend(new URLSearchParams(location.search));
  }
  return createTauriBackend();
}

const target = document.getElementById("app");
if (target) {
  void pickBackend().then((backend) => mount(App, { target, props: { backend } }));
}
