// Fails the build if the dev-only in-memory backend leaked into dist/
// (it must be dropped by the `import.meta.env.DEV` branch in main.ts).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = new URL("../dist/assets/", import.meta.url).pathname;
const marker = "PH1-MITM"; // an invite code only devBackend.ts knows
const leaked = readdirSync(dir).filter((f) => readFileSync(join(dir, f), "utf8").includes(marker));
if (leaked.length > 0) {
  console.error(`dev backend found in production build: ${leaked.join(", ")}`);
  process.exit(1);
}
console.log("dist: no dev backend (ok)");
