/**
 * `raycompile --watch`: compile, then recompile whenever a file under
 * srcDir changes. The parsed files and the type checker's results for
 * unaffected files are kept between compiles (see ProjectCache), and only
 * the output files whose contents changed are written again.
 */
import fs from "node:fs";
import path from "node:path";
import { compile, type CompileOptions, type CompileResult } from "./compile.js";
import { hasErrors, type Diagnostic } from "./diagnostics.js";
import type { OutputFile } from "./emit.js";
import { MANIFEST_FILE } from "./manifest.js";
import { ProjectCache } from "./project.js";
import { writeOutputs } from "./write-outputs.js";

/** One compile of a watch session. */
export interface WatchOutcome {
  readonly result: CompileResult;
  /** RC1004 diagnostics of files that could not be written. */
  readonly writeFailures: readonly Diagnostic[];
  /** How many output files were (re)written (the manifest not counted). */
  readonly written: number;
  /** Wall time of the compile and write, in milliseconds. */
  readonly ms: number;
}

/** Changes arriving within this many milliseconds (an editor's save, a checkout) make one recompile. */
const SETTLE_MS = 20;

function sameContents(a: string | Uint8Array, b: string | Uint8Array): boolean {
  if (typeof a === "string" && typeof b === "string") return a === b;
  return Buffer.from(a).equals(Buffer.from(b));
}

/**
 * A compiler that stays up: {@link Watcher.compileNow} compiles
 * incrementally, {@link Watcher.start} also recompiles on every change under
 * srcDir until {@link Watcher.close}.
 *
 * @example
 * const watcher = new Watcher({ srcDir: "src", outDir: "dist" }, (outcome) => console.log(outcome.ms));
 * watcher.start();
 */
export class Watcher {
  readonly #options: CompileOptions;
  readonly #onCompiled: (outcome: WatchOutcome) => void;
  readonly #cache = new ProjectCache();
  readonly #written = new Map<string, string | Uint8Array>();
  #fsWatcher: fs.FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: CompileOptions, onCompiled: (outcome: WatchOutcome) => void) {
    this.#options = options;
    this.#onCompiled = onCompiled;
  }

  /** Compiles now, writes the outputs that changed, and reports the outcome. */
  compileNow(): WatchOutcome {
    const started = performance.now();
    const result = compile(this.#options, this.#cache);
    let writeFailures: Diagnostic[] = [];
    let written = 0;
    if (!hasErrors(result.diagnostics) && result.outputs.length > 0) {
      const changed = result.outputs.filter((output: OutputFile) => {
        const before = this.#written.get(output.path);
        return before === undefined || !sameContents(before, output.contents) || !fs.existsSync(output.path);
      });
      writeFailures = writeOutputs(changed, result.stale);
      if (!hasErrors(writeFailures)) {
        for (const output of changed) this.#written.set(output.path, output.contents);
        written = changed.filter((output) => path.basename(output.path) !== MANIFEST_FILE).length;
      }
    }
    const outcome: WatchOutcome = { result, writeFailures, written, ms: performance.now() - started };
    this.#onCompiled(outcome);
    return outcome;
  }

  /** Compiles, then recompiles on every change under srcDir. */
  start(): void {
    this.compileNow();
    const srcDir = path.resolve(this.#options.cwd ?? process.cwd(), this.#options.srcDir);
    this.#fsWatcher = fs.watch(srcDir, { recursive: true }, () => {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.compileNow();
      }, SETTLE_MS);
    });
  }

  /** Stops watching. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#fsWatcher?.close();
    this.#fsWatcher = undefined;
  }
}
