/**
 * The programmatic compiler, `import { compile } from "rayts/compiler"`:
 * {@link compile} runs raycompile in memory and returns diagnostics, the
 * report and the files to write; {@link writeOutputs} writes them (all or
 * nothing); {@link Watcher} keeps a compiler up and recompiles on change.
 */
export { compile, writeOutputs } from "./compile.js";
export { DIAGNOSTIC_CODES, formatDiagnostic } from "./diagnostics.js";
export { formatReport } from "./report.js";
export { Watcher } from "./watch.js";
export type { CompileOptions, CompileResult, StaleOutputs } from "./compile.js";
export type { Diagnostic, DiagnosticCode, DiagnosticLocation } from "./diagnostics.js";
export type { OutputFile } from "./emit.js";
export type { CaptureReport, CompileReport, DiagnosticReport, RemoteReport, ShippedAs } from "./report.js";
export type { WatchOutcome } from "./watch.js";
