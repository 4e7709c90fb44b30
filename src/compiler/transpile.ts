/**
 * From generated TypeScript to emitted JavaScript: the compiler options for
 * transpiling one file (taken from the project's), transpiling with an
 * optional memory between compiles (watch mode), and the output file with
 * its source map composed back to the user's source lines.
 */
import path from "node:path";
import ts from "typescript";
import type { OutputFile } from "./emit.js";
import { composeSourceMap } from "./source-map.js";

/** Compiler options for transpiling one file to JavaScript, from the project's. */
export function transpileOptions(project: ts.CompilerOptions, file: string): ts.CompilerOptions {
  const kept: ts.CompilerOptions = {};
  const keys = [
    "jsx",
    "jsxFactory",
    "jsxFragmentFactory",
    "jsxImportSource",
    "experimentalDecorators",
    "useDefineForClassFields",
    "preserveConstEnums",
    "verbatimModuleSyntax",
    "removeComments",
    "importHelpers",
    "downlevelIteration",
    "alwaysStrict",
  ] as const;
  for (const key of keys) if (project[key] !== undefined) Object.assign(kept, { [key]: project[key] });
  return {
    ...kept,
    target: project.target ?? ts.ScriptTarget.ES2022,
    module: path.extname(file) === ".cts" ? ts.ModuleKind.CommonJS : ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    rewriteRelativeImportExtensions: true,
    sourceMap: project.sourceMap === true || project.inlineSourceMap === true,
    inlineSourceMap: false,
    declaration: false,
  };
}

/** Transpiled JavaScript and TypeScript's source map of it. */
export interface Transpiled {
  readonly code: string;
  readonly map: string | undefined;
}

/** Remembers transpiled texts between compiles (watch mode): `make` runs only for a new key. */
export type TranspileMemo = (key: string, make: () => Transpiled) => Transpiled;

/** No memory between compiles: every text is transpiled. */
export const noMemo: TranspileMemo = (_key, make) => make();

/** Transpiles TypeScript text; generated code that does not parse is a compiler bug. */
export function transpile(text: string, fileName: string, options: ts.CompilerOptions, memo: TranspileMemo = noMemo): Transpiled {
  return memo(`${fileName}\0${JSON.stringify(options)}\0${text}`, () => transpileNow(text, fileName, options));
}

function transpileNow(text: string, fileName: string, options: ts.CompilerOptions): Transpiled {
  const result = ts.transpileModule(text, { compilerOptions: options, fileName, reportDiagnostics: true });
  const errors = (result.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  const first = errors[0];
  if (first !== undefined) {
    const message = ts.flattenDiagnosticMessageText(first.messageText, " ");
    throw new Error(`raycompile generated code that does not parse (${fileName}): ${message}\n${text}`);
  }
  // TypeScript's own sourceMappingURL names the transpiler's file name: replaced by the real one.
  const code = result.outputText.replace(/\n?\/\/# sourceMappingURL=[^\n]*\s*$/, "\n");
  return { code, map: result.sourceMapText };
}

/**
 * One emitted JavaScript file, with its source map when the project asks
 * for one (`sourceMap`: a `.js.map` file beside it; `inlineSourceMap`: a
 * data URL), mapping back to the user's source lines.
 */
export function emitted(
  outPath: string,
  generated: { code: string; map: string | undefined },
  origins: readonly (number | undefined)[] | "identity",
  sourceFile: ts.SourceFile,
  project: ts.CompilerOptions,
): OutputFile[] {
  if (generated.map === undefined) return [{ path: outPath, contents: generated.code }];
  const sourceText = project.inlineSources === true ? sourceFile.text : undefined;
  const map = composeSourceMap(generated.map, origins, outPath, sourceFile.fileName, sourceText);
  if (project.inlineSourceMap === true) {
    const url = `data:application/json;base64,${Buffer.from(map).toString("base64")}`;
    return [{ path: outPath, contents: `${generated.code}//# sourceMappingURL=${url}\n` }];
  }
  return [
    { path: outPath, contents: `${generated.code}//# sourceMappingURL=${path.basename(outPath)}.map\n` },
    { path: `${outPath}.map`, contents: map },
  ];
}
