/**
 * Writing the compiled program. A compile either writes everything or
 * nothing: every target is checked before the first byte is written (a
 * folder where a file must go, a file where a folder must go, a read-only
 * folder), and if a write still fails, the files created so far are
 * removed again.
 */
import fs from "node:fs";
import path from "node:path";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import type { OutputFile } from "./emit.js";
import { removeStale } from "./manifest.js";

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** RC1004 for each output that cannot be written, found without writing anything. */
export function checkWritable(outputs: readonly OutputFile[]): Diagnostic[] {
  const failures: Diagnostic[] = [];
  const checkedDirs = new Map<string, string | undefined>();
  /** Why `dir` cannot hold files, or undefined when it can (or can be created). */
  const dirProblem = (dir: string): string | undefined => {
    if (checkedDirs.has(dir)) return checkedDirs.get(dir);
    let problem: string | undefined;
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(dir);
    } catch {
      stat = undefined;
    }
    if (stat === undefined) {
      const parent = path.dirname(dir);
      problem = parent === dir ? `${dir} does not exist` : dirProblem(parent);
    } else if (!stat.isDirectory()) {
      problem = `${dir} is a file, not a folder`;
    } else {
      try {
        fs.accessSync(dir, fs.constants.W_OK);
      } catch {
        problem = `${dir} is not writable`;
      }
    }
    checkedDirs.set(dir, problem);
    return problem;
  };
  for (const output of outputs) {
    let problem = dirProblem(path.dirname(output.path));
    if (problem === undefined && fs.existsSync(output.path)) {
      if (fs.statSync(output.path).isDirectory()) problem = `${output.path} is a folder`;
      else {
        try {
          fs.accessSync(output.path, fs.constants.W_OK);
        } catch {
          problem = `${output.path} is not writable`;
        }
      }
    }
    if (problem !== undefined) failures.push(diagnostic("RC1004", `cannot write ${output.path}: ${problem}`, { file: output.path }));
  }
  return failures;
}

/**
 * Writes the output files, after checking them all; RC1004 for what cannot
 * be written. On a failure midway, files and folders this call created are
 * removed (files it overwrote keep their new contents). Once all are
 * written, the stale outputs of the compile (`result.stale`) are removed,
 * with the folders under outDir that this leaves empty.
 */
export function writeOutputs(outputs: readonly OutputFile[], stale?: { readonly outDir: string; readonly remove: readonly string[] }): Diagnostic[] {
  const problems = checkWritable(outputs);
  if (problems.length > 0) return problems;
  const created: string[] = [];
  for (const output of outputs) {
    try {
      const dir = path.dirname(output.path);
      const firstNew = fs.mkdirSync(dir, { recursive: true });
      if (firstNew !== undefined) created.push(firstNew);
      if (!fs.existsSync(output.path)) created.push(output.path);
      fs.writeFileSync(output.path, output.contents);
    } catch (error) {
      for (const file of created.reverse()) fs.rmSync(file, { recursive: true, force: true });
      return [diagnostic("RC1004", `cannot write ${output.path}: ${reasonOf(error)}`, { file: output.path })];
    }
  }
  if (stale === undefined) return [];
  return removeStale(stale.remove, stale.outDir).map(({ file, reason }) => diagnostic("RC1306", `cannot remove the stale output ${file}: ${reason}`, { file }));
}
