// Boot file for running rayts from its TypeScript sources (tests, examples
// under tsx). When the build in dist/ is up to date (newer than every
// source file, as right after `npm run build`), the thread runs the built
// worker: the same code, without registering the TypeScript loader in each
// thread, which costs more CPU than the rest of the thread's start. Driver
// and worker meet only through messages and shared memory, and module
// copies share the thread's state (global-state.ts), so a worker built
// from the same sources serves a driver run from them. Otherwise it
// registers the TypeScript loader and loads the real worker. The built
// package uses worker.js directly.
import { existsSync, readdirSync, statSync } from "node:fs";

const built = new URL("../../../dist/core/worker/worker.js", import.meta.url);
const sources = new URL("../../", import.meta.url);

/** Whether dist/ holds a build at least as new as every file under src/. */
function buildIsFresh() {
  try {
    if (!existsSync(built)) return false;
    const builtAt = statSync(built).mtimeMs;
    for (const entry of readdirSync(sources, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && statSync(`${entry.parentPath}/${entry.name}`).mtimeMs > builtAt) return false;
    }
    return true;
  } catch {
    return false;
  }
}

if (buildIsFresh()) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./worker.ts");
}
