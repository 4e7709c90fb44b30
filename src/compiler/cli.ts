#!/usr/bin/env node
/**
 * `raycompile <srcDir> [--outDir dist] [--project tsconfig.json] [--check] [--clean] [--report json]`
 *
 * Exit codes: 0 compiled (warnings allowed), 1 diagnostics (nothing
 * written), 2 the command line itself is wrong.
 */
import { parseArgs } from "node:util";
import { compile, writeOutputs, type CompileResult } from "./compile.js";
import { formatDiagnostic, hasErrors, type Diagnostic } from "./diagnostics.js";
import { diagnosticReport, formatReport } from "./report.js";
import { Watcher } from "./watch.js";
import { isEntryPoint } from "../cli/entry-point.js";

/** Usage text printed by `--help` and on bad usage. */
export const USAGE = `Usage: raycompile <srcDir> [options]

Compiles a TypeScript project that uses rayts so that remote functions can
capture module-level values: each remote function is loaded in workers from
a generated task module, and captured consts are put once and passed by ref.

Options:
  -o, --outDir <dir>      where to write the JavaScript (default: dist); never inside srcDir
  -p, --project <file>    tsconfig.json to read compiler options from
                          (default: the nearest tsconfig.json above srcDir)
      --check             do everything but write: analyse, type-check, emit in memory, check outDir
      --noCheck           skip type checking (syntax errors still stop the compile)
      --clean             also remove the other files an earlier compile wrote to outDir that
                          this one does not produce (outputs of renamed or deleted sources);
                          stale task modules are removed on every compile. Only files
                          raycompile wrote (listed in outDir/.raycompile-manifest.json) and
                          unchanged since are ever removed
  -w, --watch             compile, then recompile on every change under srcDir (incremental)
      --report <format>   print the report as "text" (default) or "json" on stdout
  -h, --help              show this help

Exit codes: 0 ok, 1 diagnostics (nothing written), 2 bad usage.
Docs: docs/compiler.md`;

/** Parsed command line. */
export interface CliArguments {
  readonly srcDir: string;
  readonly outDir: string | undefined;
  readonly project: string | undefined;
  readonly check: boolean;
  readonly noCheck: boolean;
  readonly clean: boolean;
  readonly watch: boolean;
  readonly report: "text" | "json";
}

/** Parses argv (without `node` and the script); returns the arguments, `"help"`, or a usage error message. */
export function parseCommandLine(argv: readonly string[]): CliArguments | "help" | { error: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        outDir: { type: "string", short: "o" },
        project: { type: "string", short: "p" },
        check: { type: "boolean" },
        noCheck: { type: "boolean" },
        clean: { type: "boolean" },
        watch: { type: "boolean", short: "w" },
        report: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const { values, positionals } = parsed;
  if (values.help === true) return "help";
  if (positionals.length === 0) return { error: "Expected a srcDir, got none" };
  if (positionals.length > 1) return { error: `Expected one srcDir, got ${positionals.length}: ${positionals.join(" ")}` };
  const report = values.report ?? "text";
  if (report !== "text" && report !== "json") return { error: `Expected \`--report\` to be "text" or "json", got "${report}"` };
  for (const key of ["outDir", "project"] as const) {
    if (values[key] === "") return { error: `Expected \`--${key}\` to be a path, got an empty string` };
  }
  return { srcDir: positionals[0] as string, outDir: values.outDir, project: values.project, check: values.check === true, noCheck: values.noCheck === true, clean: values.clean === true, watch: values.watch === true, report };
}

/** Output streams, replaceable in tests. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  cwd: process.cwd(),
};

/** Runs the CLI and returns its exit code. */
export function main(argv: readonly string[], io: CliIo = processIo): number {
  const args = parseCommandLine(argv);
  if (args === "help") {
    io.stdout(USAGE);
    return 0;
  }
  if ("error" in args) {
    io.stderr(`raycompile: ${args.error}\n\n${USAGE}`);
    return 2;
  }
  if (args.watch) {
    if (args.check) {
      io.stderr(`raycompile: Expected at most one of \`--watch\` and \`--check\`, got both\n\n${USAGE}`);
      return 2;
    }
    startWatching(args, io);
    return 0;
  }
  let result: CompileResult;
  try {
    result = compile({
      srcDir: args.srcDir,
      cwd: io.cwd,
      check: args.check,
      noCheck: args.noCheck,
      clean: args.clean,
      ...(args.outDir === undefined ? {} : { outDir: args.outDir }),
      ...(args.project === undefined ? {} : { project: args.project }),
    });
  } catch (error) {
    // A bug in raycompile, not in the user's code: say so, with the stack, and write nothing.
    io.stderr(`raycompile: internal error, nothing written; please report it with this output:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  }
  const diagnostics: Diagnostic[] = [...result.diagnostics];
  let report = result.report;
  if (!hasErrors(diagnostics) && result.outputs.length > 0) {
    const failures = writeOutputs(result.outputs, result.stale);
    if (hasErrors(failures)) {
      diagnostics.push(...failures);
      report = { ...report, written: false, diagnostics: [...report.diagnostics, ...failures.map((d) => diagnosticReport(d, io.cwd))] };
    }
  }
  for (const d of diagnostics) io.stderr(formatDiagnostic(d, io.cwd));
  io.stdout(args.report === "json" ? JSON.stringify(report, null, 2) : formatReport(report));
  return hasErrors(diagnostics) ? 1 : 0;
}

/** `--watch`: prints each compile's diagnostics and a one-line summary; runs until the process is stopped. */
function startWatching(args: CliArguments, io: CliIo): Watcher {
  const watcher = new Watcher(
    {
      srcDir: args.srcDir,
      cwd: io.cwd,
      noCheck: args.noCheck,
      clean: args.clean,
      ...(args.outDir === undefined ? {} : { outDir: args.outDir }),
      ...(args.project === undefined ? {} : { project: args.project }),
    },
    (outcome) => {
      const diagnostics = [...outcome.result.diagnostics, ...outcome.writeFailures];
      for (const d of diagnostics) io.stderr(formatDiagnostic(d, io.cwd));
      const { report } = outcome.result;
      const count = report.remoteFunctions.length;
      const what = hasErrors(diagnostics) ? "nothing written" : `${outcome.written} file${outcome.written === 1 ? "" : "s"} written to ${report.outDir}`;
      io.stdout(`raycompile: ${count} remote function${count === 1 ? "" : "s"} in ${report.files} file${report.files === 1 ? "" : "s"}, ${what} in ${Math.round(outcome.ms)} ms; watching ${report.srcDir}`);
    },
  );
  try {
    watcher.start();
  } catch (error) {
    io.stderr(`raycompile: internal error; please report it with this output:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  return watcher;
}

if (isEntryPoint(import.meta.url)) process.exitCode = main(process.argv.slice(2));
