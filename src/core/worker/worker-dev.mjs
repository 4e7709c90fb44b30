// Boot file for running rayts from its TypeScript sources (tests, examples
// under tsx): registers the TypeScript loader in the worker thread, then
// loads the real worker. The built package uses worker.js directly.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
