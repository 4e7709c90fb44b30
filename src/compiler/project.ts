/**
 * Loading the project to compile: the tsconfig's compiler options, every
 * source file under srcDir (plus what they import, for the type checker),
 * the files to copy as they are, and the syntax errors.
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import type { Transpiled, TranspileMemo } from "./transpile.js";

/** Extensions compiled to JavaScript. Declaration files are read for types but never emitted. */
const SOURCE_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts"];
const DECLARATION_SUFFIXES = [".d.ts", ".d.mts", ".d.cts"];
/** Folders never walked: installed packages and tool state. */
const SKIPPED_FOLDERS = new Set(["node_modules", ".git"]);

/** Options when no tsconfig applies: what `tsc --init` users on Node ESM get. */
const DEFAULT_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  esModuleInterop: true,
  skipLibCheck: true,
};

/** The project as the compiler sees it. */
export interface LoadedProject {
  readonly program: ts.Program;
  /** Where type diagnostics come from: the program, or the watch mode's builder. */
  readonly diagnosticsSource: TypeDiagnosticsSource;
  readonly checker: ts.TypeChecker;
  /** Absolute srcDir. */
  readonly srcDir: string;
  /** The TypeScript sources under srcDir that are emitted, in path order. */
  readonly sourceFiles: readonly ts.SourceFile[];
  /** Files under srcDir copied unchanged (JavaScript, JSON, assets), absolute paths. */
  readonly assets: readonly string[];
  /** The compiler options in force (the tsconfig's, or defaults). */
  readonly compilerOptions: ts.CompilerOptions;
  /** The tsconfig used, if any. */
  readonly configFile: string | undefined;
}

/** Lists srcDir recursively: sources to compile and other files to copy. */
function listFiles(srcDir: string): { sources: string[]; assets: string[] } {
  const sources: string[] = [];
  const assets: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) walk(full);
      } else if (entry.isFile()) {
        if (DECLARATION_SUFFIXES.some((suffix) => entry.name.endsWith(suffix))) sources.push(full);
        else if (SOURCE_EXTENSIONS.includes(path.extname(entry.name))) sources.push(full);
        else assets.push(full);
      }
    }
  };
  walk(srcDir);
  return { sources, assets };
}

/** True for `.d.ts`-style files. */
export function isDeclarationFile(file: string): boolean {
  return DECLARATION_SUFFIXES.some((suffix) => file.endsWith(suffix));
}

/**
 * Reads a tsconfig's compiler options. `files`/`include` are ignored: the
 * compiler always takes every source under srcDir.
 */
function readConfig(configFile: string): { options: ts.CompilerOptions } | { error: Diagnostic } {
  const location = { file: configFile };
  let text: string;
  try {
    text = fs.readFileSync(configFile, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    return { error: diagnostic("RC1003", `cannot read tsconfig ${configFile} (${reason})`, location) };
  }
  const parsed = ts.parseConfigFileTextToJson(configFile, text);
  if (parsed.error !== undefined) {
    const start = parsed.error.start;
    const at = start === undefined ? undefined : ts.getLineAndCharacterOfPosition(ts.createSourceFile(configFile, text, ts.ScriptTarget.JSON), start);
    const where = at === undefined ? location : { file: configFile, line: at.line + 1, column: at.character + 1 };
    return { error: diagnostic("RC1003", `cannot parse tsconfig: ${ts.flattenDiagnosticMessageText(parsed.error.messageText, " ")}`, where) };
  }
  if (typeof parsed.config !== "object" || parsed.config === null || Array.isArray(parsed.config)) {
    return { error: diagnostic("RC1003", "tsconfig must hold a JSON object", location) };
  }
  const content = ts.parseJsonConfigFileContent(parsed.config, ts.sys, path.dirname(configFile), undefined, configFile);
  // "No inputs were found" (TS18003) is irrelevant: inputs come from srcDir.
  const errors = content.errors.filter((e) => e.code !== 18003 && e.category === ts.DiagnosticCategory.Error);
  const first = errors[0];
  if (first !== undefined) {
    return { error: diagnostic("RC1003", `invalid tsconfig: ${ts.flattenDiagnosticMessageText(first.messageText, " ")}`, location) };
  }
  return { options: content.options };
}

/** Turns TypeScript's syntax errors into RC1010 diagnostics. */
function syntaxDiagnostics(program: ts.Program, files: readonly ts.SourceFile[]): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const file of files) {
    for (const d of program.getSyntacticDiagnostics(file)) {
      const where = d.file.getLineAndCharacterOfPosition(d.start);
      const message = `syntax error: ${ts.flattenDiagnosticMessageText(d.messageText, " ")} (TS${d.code})`;
      found.push(
        diagnostic("RC1010", message, {
          file: file.fileName,
          line: where.line + 1,
          column: where.character + 1,
        }),
      );
    }
  }
  return found;
}

/** A program, or a builder program that remembers the diagnostics of unchanged files. */
export interface TypeDiagnosticsSource {
  getGlobalDiagnostics(): readonly ts.Diagnostic[];
  getSemanticDiagnostics(file: ts.SourceFile): readonly ts.Diagnostic[];
}

/**
 * What a watching compiler keeps between compiles: parsed files by path
 * (reused while their modification time and size stay the same, so
 * TypeScript reuses the program's structure), and the last builder program
 * (which keeps the type diagnostics of files no change can affect).
 */
export class ProjectCache {
  readonly files = new Map<string, { readonly mtimeMs: number; readonly size: number; readonly file: ts.SourceFile | undefined }>();
  builder: ts.SemanticDiagnosticsBuilderProgram | undefined;
  #transpiled = new Map<string, Transpiled>();
  #transpiledBefore = new Map<string, Transpiled>();

  /** Transpiled texts of this compile and the previous one (older ones are let go). */
  readonly memo: TranspileMemo = (key, make) => {
    let value = this.#transpiled.get(key) ?? this.#transpiledBefore.get(key);
    if (value === undefined) value = make();
    this.#transpiled.set(key, value);
    return value;
  };

  /** Starts a compile: what the previous one did not use is let go. */
  nextCompile(): void {
    this.#transpiledBefore = this.#transpiled;
    this.#transpiled = new Map();
  }

  /** A compiler host that serves unchanged files from the cache. */
  host(options: ts.CompilerOptions): ts.CompilerHost {
    const base = ts.createCompilerHost(options, true);
    return {
      ...base,
      getSourceFile: (fileName, language, onError, shouldCreate) => {
        let stat: fs.Stats | undefined;
        try {
          stat = fs.statSync(fileName);
        } catch {
          stat = undefined;
        }
        const cached = this.files.get(fileName);
        if (cached !== undefined && stat !== undefined && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.file;
        const file = base.getSourceFile(fileName, language, onError, shouldCreate);
        // The builder program tells changed files by this version.
        if (file !== undefined) (file as { version?: string }).version = stat === undefined ? (ts.sys.createHash?.(file.text) ?? `${file.text.length}`) : `${stat.mtimeMs}:${stat.size}`;
        if (stat !== undefined) this.files.set(fileName, { mtimeMs: stat.mtimeMs, size: stat.size, file });
        return file;
      },
    };
  }
}

/**
 * TypeScript's type errors in the emitted sources as RC1012 diagnostics
 * (what `tsc --noEmit` would report for them), plus the options' global
 * errors. Warnings and suggestions are left out.
 */
export function typeDiagnostics(program: TypeDiagnosticsSource, files: readonly ts.SourceFile[]): Diagnostic[] {
  const found: Diagnostic[] = [];
  const all = [...program.getGlobalDiagnostics(), ...files.flatMap((file) => program.getSemanticDiagnostics(file))];
  for (const d of all) {
    if (d.category !== ts.DiagnosticCategory.Error) continue;
    const where = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const message = `${ts.flattenDiagnosticMessageText(d.messageText, " ")} (TS${d.code})`;
    found.push(
      diagnostic("RC1012", message, {
        file: d.file?.fileName ?? "tsconfig",
        ...(where === undefined ? {} : { line: where.line + 1, column: where.character + 1 }),
      }),
    );
  }
  return found;
}

/**
 * Loads srcDir with the given tsconfig (or the nearest one above srcDir, or
 * defaults). Returns diagnostics instead when the config is unreadable or a
 * source has a syntax error.
 */
export function loadProject(
  srcDir: string,
  projectFile: string | undefined,
  cache?: ProjectCache,
): { project: LoadedProject } | { diagnostics: Diagnostic[] } {
  const configFile = projectFile ?? ts.findConfigFile(srcDir, (file) => ts.sys.fileExists(file));
  let options = DEFAULT_OPTIONS;
  if (configFile !== undefined) {
    const config = readConfig(path.resolve(configFile));
    if ("error" in config) return { diagnostics: [config.error] };
    options = config.options;
  }
  const { sources, assets } = listFiles(srcDir);
  // A plain TypeScript program, as tsc builds it; with a cache (watch mode), an incremental one.
  const compilerOptions = { ...options, noEmit: true };
  let program: ts.Program;
  let diagnosticsSource: TypeDiagnosticsSource;
  if (cache === undefined) {
    program = ts.createProgram({ rootNames: sources, options: compilerOptions, host: ts.createCompilerHost(compilerOptions, true) });
    diagnosticsSource = program;
  } else {
    cache.nextCompile();
    const builder = ts.createSemanticDiagnosticsBuilderProgram(sources, compilerOptions, cache.host(compilerOptions), cache.builder);
    cache.builder = builder;
    program = builder.getProgram();
    diagnosticsSource = builder;
  }
  const wanted = new Set(sources.filter((file) => !isDeclarationFile(file)).map((file) => path.resolve(file)));
  const emitted = program.getSourceFiles().filter((file) => wanted.has(path.resolve(file.fileName)));
  emitted.sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
  const syntax = syntaxDiagnostics(program, emitted);
  if (syntax.length > 0) return { diagnostics: syntax };
  return {
    project: {
      program,
      diagnosticsSource,
      checker: program.getTypeChecker(),
      srcDir,
      sourceFiles: emitted,
      assets,
      compilerOptions: options,
      configFile: configFile === undefined ? undefined : path.resolve(configFile),
    },
  };
}
