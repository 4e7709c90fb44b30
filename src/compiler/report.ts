/**
 * The compile report: each remote function, where it is, what it captures
 * and how each capture is shipped. Printed as text, or as JSON with
 * `--report json` (the shape below is stable).
 */
import path from "node:path";
import { formatBytes } from "./capture-size.js";
import type { Capture, RemoteAnalysis } from "./classify-captures.js";
import type { Diagnostic } from "./diagnostics.js";

/** How a capture reaches the worker; see docs/compiler.md. */
export type ShippedAs = Capture["kind"];

/** One captured name in the report. */
export interface CaptureReport {
  readonly name: string;
  readonly shippedAs: ShippedAs;
  /** One line: what it is and how it travels. */
  readonly detail: string;
  /** For `import` and `runtime`: the module specifier. */
  readonly from?: string;
  /** For `copy` and `ref` reached through a copied declaration: that declaration's name. */
  readonly via?: string;
  /** For `ref`: a size read from the initializer, when it is literal. */
  readonly estimatedBytes?: number;
}

/** One remote function or actor class in the report. */
export interface RemoteReport {
  /** The runtime name (the function's own name, or "anonymous"). */
  readonly name: string;
  /** The variable it is stored in, when there is one. */
  readonly binding: string | null;
  readonly kind: "task" | "actor";
  /** Source file, relative to the working directory. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The generated task module, relative to the working directory. */
  readonly taskModule: string;
  readonly exportName: string;
  /** For actors: the methods handles expose. */
  readonly methods?: readonly string[];
  readonly captures: readonly CaptureReport[];
  /** Global names it reads (nothing to ship). */
  readonly globals: readonly string[];
}

/** A diagnostic as plain data. */
export interface DiagnosticReport {
  readonly code: string;
  readonly category: "error" | "warning";
  readonly message: string;
  readonly hint: string;
  readonly file: string | null;
  readonly line: number | null;
  readonly column: number | null;
}

/** The whole report, as `--report json` prints it. */
export interface CompileReport {
  readonly srcDir: string;
  readonly outDir: string;
  /** False with `--check`, or when errors stopped the compilation. */
  readonly written: boolean;
  readonly files: number;
  readonly remoteFunctions: readonly RemoteReport[];
  readonly diagnostics: readonly DiagnosticReport[];
  /**
   * Stale files an earlier compile wrote that this one removed (with
   * `--check`: would remove): task modules always, other outputs with `--clean`.
   */
  readonly removed: readonly string[];
  /** Stale files an earlier compile wrote that are kept because `--clean` was not given. */
  readonly staleKept: readonly string[];
}

/** The report entry of one capture. */
export function captureReport(capture: Capture, raytsSpecifier: string): CaptureReport {
  const via = capture.via === undefined ? {} : { via: capture.via };
  switch (capture.kind) {
    case "import": {
      const from = capture.declaration.moduleSpecifier.getText().slice(1, -1);
      return { name: capture.name, shippedAs: "import", detail: `import binding, re-imported from "${from}" by the task module`, from, ...via };
    }
    case "copy":
      return {
        name: capture.name,
        shippedAs: "copy",
        detail:
          capture.what === "actor class"
            ? "actor class, its compiled definition copied into the task module (actor class handles do not cross threads)"
            : `module-level ${capture.what}, copied into the task module`,
        ...via,
      };
    case "ref": {
      const size = capture.estimatedBytes === undefined ? "" : ` (${formatBytes(capture.estimatedBytes)})`;
      return {
        name: capture.name,
        shippedAs: "ref",
        detail: `module-level const${size}, put once on first call and passed to workers by ref`,
        ...(capture.estimatedBytes === undefined ? {} : { estimatedBytes: capture.estimatedBytes }),
        ...via,
      };
    }
    case "remote":
      return { name: capture.name, shippedAs: "remote", detail: "remote function, its handle passed by ref (nested tasks work)", ...via };
    case "runtime":
      return { name: capture.name, shippedAs: "runtime", detail: `rayts API, imported from "${raytsSpecifier}"`, from: raytsSpecifier, ...via };
  }
}

/** The report entry of one remote function. */
export function remoteReport(
  analysis: RemoteAnalysis,
  taskModule: string,
  exportName: string,
  methods: readonly string[] | undefined,
  raytsSpecifier: string,
  cwd: string,
): RemoteReport {
  const call = analysis.call;
  const { line, character } = call.sourceFile.getLineAndCharacterOfPosition(call.call.getStart(call.sourceFile));
  return {
    name: call.name,
    binding: call.binding ?? null,
    kind: call.kind,
    file: path.relative(cwd, call.sourceFile.fileName),
    line: line + 1,
    column: character + 1,
    taskModule: path.relative(cwd, taskModule),
    exportName,
    ...(methods === undefined ? {} : { methods }),
    captures: analysis.captures.map((capture) => captureReport(capture, raytsSpecifier)),
    globals: analysis.globals,
  };
}

/** A diagnostic as report data. */
export function diagnosticReport(d: Diagnostic, cwd: string): DiagnosticReport {
  return {
    code: d.code,
    category: d.category,
    message: d.message,
    hint: d.hint,
    file: d.location === undefined ? null : path.relative(cwd, d.location.file),
    line: d.location?.line ?? null,
    column: d.location?.column ?? null,
  };
}

/** The report as text, one block per remote function. */
export function formatReport(report: CompileReport): string {
  const lines: string[] = [];
  for (const remote of report.remoteFunctions) {
    const shownName = remote.name === "anonymous" || remote.name === remote.binding ? "" : ` (${remote.name})`;
    const title = remote.binding === null ? remote.name : `${remote.binding}${shownName}`;
    const what = remote.kind === "actor" ? `actor class, methods: ${remote.methods?.join(", ") || "none"}` : "remote function";
    lines.push(`${remote.file}:${remote.line}:${remote.column} ${title}: ${what} -> ${remote.taskModule}`);
    if (remote.captures.length === 0) lines.push("    captures nothing");
    const width = Math.max(0, ...remote.captures.map((c) => c.name.length));
    for (const capture of remote.captures) {
      const via = capture.via === undefined ? "" : ` [via ${capture.via}]`;
      lines.push(`    ${capture.name.padEnd(width)}  ${capture.shippedAs.padEnd(7)} ${capture.detail}${via}`);
    }
  }
  const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`;
  if (report.removed.length > 0) lines.push(`${report.written ? "removed" : "would remove"} ${plural(report.removed.length, "stale output")}: ${report.removed.join(", ")}`);
  if (report.staleKept.length > 0) {
    lines.push(`${plural(report.staleKept.length, "stale output")} kept (a source file was renamed or deleted): ${report.staleKept.join(", ")}; --clean removes them`);
  }
  const count = report.remoteFunctions.length;
  const outcome = report.written ? `written to ${report.outDir}` : "nothing written";
  lines.push(`raycompile: ${count} remote function${count === 1 ? "" : "s"} in ${report.files} file${report.files === 1 ? "" : "s"}, ${outcome}`);
  return lines.join("\n");
}
