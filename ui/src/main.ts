import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { createTauriBackend, type Backend } from "./lib/backend";
import { createTauriSecretariat, type SecretariatApi } from "./lib/secretariat";

declare global {
  interface Window {
    __TAURI_INTERNALS__?: unknown;
  }
}

async function pickBackend(): Promise<{ backend: Backend; secretariat: SecretariatApi | null }> {
  // `import.meta.env.DEV` is the literal `false` in a production build, so
  // this branch and the dev backend's module are dropped from dist/.
  if (import.meta.env.DEV && !window.__TAURI_INTERNALS__) {
    const { DevBackend } = await import("./lib/devBackend");
    return { backend: new DevBackend(new URLSearchParams(location.search)), secretariat: null };
  }
  const [backend, secretariat] = await Promise.all([createTauriBackend(), createTauriSecretariat()]);
  return { backend, secretariat };
}

const target = document.getElementById("app");
if (target) {
  void pickBackend().then((props) => mount(App, { target, props }));
}
