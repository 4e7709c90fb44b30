/**
 * What every `rayts` command shares about its command line: the exit codes
 * (0 done, 1 the command failed while running, 2 the command line itself is
 * wrong, as `raycompile` and most CLIs do), the error that marks bad usage,
 * and the package version.
 */
import { readFileSync } from "node:fs";

/** Exit code of a command that did what it was asked. */
export const EXIT_OK = 0;
/** Exit code of a command that failed while running (no cluster to reach, a refused password, ...). */
export const EXIT_FAILURE = 1;
/** Exit code of a command line that is wrong: unknown command or option, a bad or missing value. */
export const EXIT_USAGE = 2;

/** A wrong command line: the command did nothing, and exits with {@link EXIT_USAGE}. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** True for a {@link UsageError} and for the errors of `node:util`'s `parseArgs` (unknown option, missing value, ...). */
export function isUsageError(error: unknown): boolean {
  if (error instanceof UsageError) return true;
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

/** Runs a check of the command line; a `TypeError` or `RangeError` it throws becomes a {@link UsageError} with the same message. */
export function checkUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof TypeError || error instanceof RangeError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/** The version of the installed rayts package, read from its package.json. */
export function packageVersion(): string {
  // src/cli and dist/cli both sit two folders below the package root.
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: unknown };
  if (typeof manifest.version !== "string") throw new Error("rayts's package.json has no version");
  return manifest.version;
}
