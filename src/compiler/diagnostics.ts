/**
 * Compiler diagnostics: the RC1xxx codes, their fix hints, and the
 * `file:line:col - error RC1xxx: message` format.
 *
 * Codes are stable; docs/compiler.md carries the same table.
 * - RC10xx: the command line names something unusable (paths, tsconfig).
 * - RC11xx: source problems that stop compilation.
 * - RC13xx: warnings; output is still written.
 */
import path from "node:path";

/** Every diagnostic code raycompile reports, with its category and the hint printed after the message. */
export const DIAGNOSTIC_CODES = {
  RC1001: { category: "error", title: "srcDir does not exist or is not a directory", hint: "pass the folder that holds your .ts sources, e.g. `raycompile src`" },
  RC1002: { category: "error", title: "outDir is inside srcDir", hint: "choose an outDir outside the sources, e.g. `--outDir dist`; raycompile never writes into srcDir" },
  RC1003: { category: "error", title: "tsconfig cannot be read", hint: "fix the file or point `--project` at a readable tsconfig.json" },
  RC1004: { category: "error", title: "output cannot be written", hint: "check that outDir is writable" },
  RC1010: { category: "error", title: "syntax error", hint: "fix the syntax; raycompile compiles only sources that parse" },
  RC1005: { category: "error", title: "internal error", hint: "this is a bug in raycompile; please report it with the file named and the message" },
  RC1011: { category: "error", title: "rayts cannot be resolved", hint: "install rayts (`npm install rayts`) and use a moduleResolution that reads package exports (NodeNext, Node16 or Bundler)" },
  RC1012: { category: "error", title: "type error", hint: "fix the type error (raycompile type-checks like tsc), or pass --noCheck to compile without type checking" },
  RC1013: { category: "error", title: "default import of rayts", hint: "rayts has no default export: write `import * as ray from \"rayts\"` or import the names you use" },
  RC1101: { category: "error", title: "captures a mutable module-level variable", hint: "declare it with `const` (it is then put once and shared), or pass the value as an argument" },
  RC1102: { category: "error", title: "uses `this` of the enclosing scope", hint: "pass the value as an argument; inside a remote class, methods may use `this`" },
  RC1103: { category: "error", title: "uses `arguments` of the enclosing scope", hint: "declare rest parameters (`...args`) on the remote function instead" },
  RC1104: { category: "error", title: "captures a variable of an enclosing function or block", hint: "pass it as an argument (or `put()` it and pass the ObjectRef), or move it to module level as a `const`" },
  RC1105: { category: "error", title: "remote() argument cannot be compiled", hint: "pass an arrow function, a function or class expression, or the name of a module-level function or class declaration" },
  RC1106: { category: "error", title: "captures something that cannot be shipped", hint: "declare what the task needs as a module-level function, class or const value, or import it from another module" },
  RC1301: { category: "warning", title: "large capture", hint: "it is put once and shared by ref; consider loading the data inside the task instead" },
  RC1302: { category: "warning", title: "relative import leaves srcDir", hint: "the emitted import resolves relative to outDir; keep imported sources inside srcDir" },
  RC1303: { category: "warning", title: "captured class instance loses its methods", hint: "capture the data and rebuild the instance inside the task, or make the class an actor" },
  RC1304: { category: "warning", title: "a re-imported module runs code at load time", hint: "move what the task imports into a module that only declares things (no init(), logging or work at its top level)" },
  RC1306: { category: "warning", title: "stale output cannot be removed", hint: "remove the file by hand, or make its folder writable; the new outputs were written" },
  RC1305: { category: "warning", title: "remote() call left to the runtime", hint: "it runs as uncompiled (the function's source is shipped, so it cannot use module-level names); pass an arrow, a function or class expression, or the name of a module-level declaration to have it compiled" },
} as const;

/** A diagnostic code, e.g. `"RC1101"`. */
export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** Where a diagnostic points: a file, optionally a 1-based line and column. */
export interface DiagnosticLocation {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
}

/** One compiler message. */
export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly category: "error" | "warning";
  readonly message: string;
  readonly hint: string;
  readonly location: DiagnosticLocation | undefined;
}

/** Builds a diagnostic with the code's category and hint. */
export function diagnostic(code: DiagnosticCode, message: string, location?: DiagnosticLocation): Diagnostic {
  const entry = DIAGNOSTIC_CODES[code];
  return { code, category: entry.category, message, hint: entry.hint, location };
}

/** True when any diagnostic is an error (compilation then writes nothing). */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.category === "error");
}

/**
 * Formats a diagnostic the way tsc does, with paths relative to `cwd`:
 * `src/main.ts:4:7 - error RC1101: message` and the hint on a second line.
 */
export function formatDiagnostic(d: Diagnostic, cwd: string = process.cwd()): string {
  let where = "raycompile";
  if (d.location !== undefined) {
    const file = path.relative(cwd, d.location.file) || d.location.file;
    where = d.location.line === undefined ? file : `${file}:${d.location.line}:${d.location.column ?? 1}`;
  }
  return `${where} - ${d.category} ${d.code}: ${d.message}\n  hint: ${d.hint}`;
}

/** Sorts diagnostics by file, line and column, for stable output. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic): [string, number, number] => [d.location?.file ?? "", d.location?.line ?? 0, d.location?.column ?? 0];
  return [...diagnostics].sort((a, b) => {
    const [fa, la, ca] = key(a);
    const [fb, lb, cb] = key(b);
    return fa < fb ? -1 : fa > fb ? 1 : la - lb || ca - cb;
  });
}
