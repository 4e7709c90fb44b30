/**
 * The compiler pass from start to end, without touching the disk until
 * everything is known: check the paths, load the project, find and analyse
 * the remote calls, then either return diagnostics (nothing to write) or
 * the complete set of output files.
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { CAPTURE_CHECK_MODULE, CAPTURE_CHECK_SOURCE, formatBytes, HUGE_CAPTURE_BYTES, LARGE_CAPTURE_BYTES } from "./capture-size.js";
import { analyzeRemote, type RemoteAnalysis } from "./classify-captures.js";
import { diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostics.js";
import { emitFile, outputExtension, type FilePlan, type OutputFile, type PlannedRemote } from "./emit.js";
import { actorMethods, findRemoteCalls, generatorParts, RAYTS_PACKAGE, raytsImports, type RemoteCall } from "./find-remote-calls.js";
import { importSideEffectWarnings } from "./import-side-effects.js";
import { loadProject, typeDiagnostics, type LoadedProject, type ProjectCache } from "./project.js";
import { diagnosticReport, remoteReport, type CompileReport, type RemoteReport } from "./report.js";
import { planStale, readPreviousBuild, wrotePackageJson } from "./manifest.js";
import { locationOf } from "./syntax.js";
import { checkWritable, writeOutputs } from "./write-outputs.js";

/** What to compile. Relative paths are taken from `cwd`. */
export interface CompileOptions {
  readonly srcDir: string;
  /** Default `dist`. */
  readonly outDir?: string;
  /** A tsconfig.json; default: the nearest one above srcDir, else built-in defaults. */
  readonly project?: string;
  /** Run everything but the write: `outputs` comes back empty. */
  readonly check?: boolean;
  /** Skip TypeScript's type checking (syntax errors still stop the compile). */
  readonly noCheck?: boolean;
  /**
   * Also count as stale (to remove) the files an earlier compile of srcDir
   * wrote that this one does not produce, not only the task modules.
   */
  readonly clean?: boolean;
  /** Default `process.cwd()`. */
  readonly cwd?: string;
}

/** The outcome: diagnostics, the report, and (without errors or `check`) the files to write. */
export interface CompileResult {
  readonly diagnostics: readonly Diagnostic[];
  readonly report: CompileReport;
  readonly outputs: readonly OutputFile[];
  /** Stale files an earlier compile wrote, to remove once `outputs` are written (empty when `outputs` is). */
  readonly stale: StaleOutputs;
}

/** Stale outputs to remove (absolute paths), and outDir, the folder they are removed from. */
export interface StaleOutputs {
  readonly outDir: string;
  readonly remove: readonly string[];
}

/** The real path of `p`, resolving symlinks of its longest existing prefix. */
function realPathOf(p: string): string {
  const missing: string[] = [];
  let current = p;
  while (!fs.existsSync(current)) {
    const parent = path.dirname(current);
    if (parent === current) break;
    missing.unshift(path.basename(current));
    current = parent;
  }
  return path.join(fs.realpathSync(current), ...missing);
}

/** True when `inner` is `outer` or lies below it. */
function isWithin(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** RC1001/RC1002: srcDir must be a folder, outDir must not be inside it. */
function checkPaths(srcDir: string, outDir: string, shown: { srcDir: string; outDir: string }): Diagnostic[] {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(srcDir);
  } catch {
    stat = undefined;
  }
  if (stat === undefined) return [diagnostic("RC1001", `srcDir ${shown.srcDir} does not exist`, { file: srcDir })];
  if (!stat.isDirectory()) return [diagnostic("RC1001", `srcDir ${shown.srcDir} is not a directory`, { file: srcDir })];
  if (isWithin(realPathOf(srcDir), realPathOf(outDir))) {
    return [diagnostic("RC1002", `outDir ${shown.outDir} is inside srcDir ${shown.srcDir}; compiling would write into the sources`, { file: outDir })];
  }
  return [];
}

/** A file-name-safe label for a remote function, unique within its file. */
function labelFor(call: RemoteCall, used: Set<string>, taken: (label: string) => boolean): string {
  const line = call.sourceFile.getLineAndCharacterOfPosition(call.call.getStart(call.sourceFile)).line + 1;
  const raw = call.binding ?? (call.name === "anonymous" ? `task${line}` : call.name);
  // `d` would make `main.d.task.js`, whose TypeScript source name `main.d.task.ts` reads as a declaration file.
  const cleaned = raw.replace(/[^A-Za-z0-9_$]/g, "_") || `task${line}`;
  const base = cleaned === "d" ? "d_" : cleaned;
  let label = base;
  for (let n = 2; used.has(label) || taken(label); n++) label = `${base}_${n}`;
  used.add(label);
  return label;
}

/** RC1005: a bug in raycompile met while working on one file; the file is named so the rest can be judged. */
function internalError(doing: string, file: string, error: unknown, cwd: string): Diagnostic {
  const reason = error instanceof Error ? error.message : String(error);
  return diagnostic("RC1005", `internal error while ${doing} ${path.relative(cwd, file)}: ${reason}`, { file });
}

/** RC1302: relative imports that leave srcDir break once the files move to outDir. */
function escapingImports(sourceFile: ts.SourceFile, srcDir: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  const check = (spec: ts.Expression | undefined): void => {
    if (spec === undefined || !ts.isStringLiteralLike(spec) || !spec.text.startsWith(".")) return;
    if (!isWithin(srcDir, path.resolve(path.dirname(sourceFile.fileName), spec.text))) {
      found.push(diagnostic("RC1302", `import "${spec.text}" resolves outside srcDir`, locationOf(spec)));
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) check(node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) check(node.arguments[0]);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** A const whose literal size passes Ray's 10 MB threshold, and the remote functions that capture it. */
interface LargeCapture {
  readonly name: string;
  readonly bytes: number;
  readonly declaration: ts.Node;
  readonly users: string[];
}

/** Records the large captures of one remote function in `found`, keyed by the const's declaration. */
function noteLargeCaptures(analysis: RemoteAnalysis, found: Map<ts.Node, LargeCapture>): void {
  const label = analysis.call.binding ?? analysis.call.name;
  for (const capture of analysis.captures) {
    if (capture.kind !== "ref" || capture.estimatedBytes === undefined || capture.estimatedBytes <= LARGE_CAPTURE_BYTES) continue;
    const entry = found.get(capture.declaration);
    if (entry === undefined) {
      found.set(capture.declaration, { name: capture.name, bytes: capture.estimatedBytes, declaration: capture.declaration, users: [label] });
    } else if (!entry.users.includes(label)) {
      entry.users.push(label);
    }
  }
}

/** `a`, `a and b`, `a, b and c`. */
function listOf(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1] ?? ""}`;
}

/** RC1301: one warning per large const, naming every remote function that captures it. */
function sizeWarning(capture: LargeCapture): Diagnostic {
  const size = formatBytes(capture.bytes);
  const who = capture.users.length === 1 ? `remote function ${listOf(capture.users)} captures` : `remote functions ${listOf(capture.users)} capture`;
  const message =
    capture.bytes > HUGE_CAPTURE_BYTES
      ? `${who} \`${capture.name}\` of ${size}, above Ray's 100 MB limit for a function; rayts ships it as an object ref (put once), but it stays pinned in the object store`
      : `${who} \`${capture.name}\` of ${size} (above 10 MB); it is put once and passed by ref`;
  return diagnostic("RC1301", message, locationOf(capture.declaration));
}

/** Whether outDir needs its own `{"type": "module"}` package.json for its `.js` files to load as ESM. */
function needsModulePackageJson(outDir: string): boolean {
  for (let dir = outDir; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      try {
        return (JSON.parse(fs.readFileSync(file, "utf8")) as { type?: unknown }).type !== "module";
      } catch {
        return true;
      }
    }
    if (path.dirname(dir) === dir) return true;
  }
}

/** Output path of a source file. */
function outPathOf(file: string, srcDir: string, outDir: string): string {
  const rel = path.relative(srcDir, file);
  return path.join(outDir, rel.slice(0, rel.length - path.extname(rel).length) + outputExtension(file));
}

interface Analysed {
  readonly sourceFile: ts.SourceFile;
  readonly raytsSpecifier: string;
  readonly analyses: RemoteAnalysis[];
}

/** Finds and analyses every remote call of the project. */
function analyseProject(loaded: LoadedProject, cwd: string): { files: Analysed[]; diagnostics: Diagnostic[] } {
  const { checker } = loaded;
  const diagnostics: Diagnostic[] = [];
  const perFile: { sourceFile: ts.SourceFile; specifiers: string[]; calls: RemoteCall[] }[] = [];
  for (const sourceFile of loaded.sourceFiles) {
    try {
      const imports = raytsImports(checker, sourceFile);
      const found = findRemoteCalls(checker, sourceFile);
      diagnostics.push(...imports.diagnostics, ...found.diagnostics, ...escapingImports(sourceFile, loaded.srcDir));
      perFile.push({ sourceFile, specifiers: imports.specifiers, calls: found.calls });
    } catch (error) {
      diagnostics.push(internalError("analysing", sourceFile.fileName, error, cwd));
    }
  }
  const allCalls = new Map(perFile.flatMap((f) => f.calls.map((c) => [c.call, c.kind] as const)));
  const files: Analysed[] = [];
  const largeCaptures = new Map<ts.Node, LargeCapture>();
  for (const { sourceFile, specifiers, calls } of perFile) {
    const analyses: RemoteAnalysis[] = [];
    for (const call of calls) {
      let result: ReturnType<typeof analyzeRemote>;
      try {
        result = analyzeRemote(checker, call, allCalls, specifiers.length > 0);
      } catch (error) {
        diagnostics.push(internalError("analysing", sourceFile.fileName, error, cwd));
        continue;
      }
      analyses.push(result.analysis);
      diagnostics.push(...result.diagnostics, ...result.analysis.warnings);
      if (!hasErrors(result.diagnostics)) noteLargeCaptures(result.analysis, largeCaptures);
    }
    files.push({ sourceFile, raytsSpecifier: specifiers[0] ?? RAYTS_PACKAGE, analyses });
  }
  diagnostics.push(...[...largeCaptures.values()].map(sizeWarning));
  const projectFiles = new Set(loaded.sourceFiles);
  diagnostics.push(...importSideEffectWarnings(checker, files.flatMap((file) => file.analyses), projectFiles, cwd));
  return { files, diagnostics };
}

/**
 * Compiles srcDir into outDir in memory. Nothing is written here: call
 * {@link writeOutputs} with `outputs` (empty when there are errors or with
 * `check`). A {@link ProjectCache} kept between calls makes recompiles
 * incremental (see {@link Watcher}).
 */
export function compile(options: CompileOptions, cache?: ProjectCache): CompileResult {
  const cwd = options.cwd ?? process.cwd();
  const srcDir = path.resolve(cwd, options.srcDir);
  const outDir = path.resolve(cwd, options.outDir ?? "dist");
  const base = { srcDir: path.relative(cwd, srcDir) || ".", outDir: path.relative(cwd, outDir) || "." };
  const fail = (diagnostics: Diagnostic[], files = 0): CompileResult => ({
    diagnostics: sortDiagnostics(diagnostics),
    report: { ...base, written: false, files, remoteFunctions: [], diagnostics: sortDiagnostics(diagnostics).map((d) => diagnosticReport(d, cwd)), removed: [], staleKept: [] },
    outputs: [],
    stale: { outDir, remove: [] },
  });

  const pathErrors = checkPaths(srcDir, outDir, base);
  if (pathErrors.length > 0) return fail(pathErrors);
  const loaded = loadProject(srcDir, options.project === undefined ? undefined : path.resolve(cwd, options.project), cache);
  if ("diagnostics" in loaded) return fail(loaded.diagnostics);
  const project = loaded.project;
  const { files, diagnostics } = analyseProject(project, cwd);
  if (options.noCheck !== true) {
    // RC1013 already explains TypeScript's "has no default export" for rayts.
    const at = (d: Diagnostic): string => `${d.location?.file}:${d.location?.line}:${d.location?.column}`;
    const explained = new Set(diagnostics.filter((d) => d.code === "RC1013").map(at));
    diagnostics.push(...typeDiagnostics(project.diagnosticsSource, project.sourceFiles).filter((d) => !explained.has(at(d))));
  }

  // Task module names must not collide with the project's own output files.
  const taken = new Set<string>(files.map((file) => outPathOf(file.sourceFile.fileName, srcDir, outDir)));
  for (const asset of project.assets) taken.add(path.join(outDir, path.relative(srcDir, asset)));
  const plans: FilePlan[] = [];
  const remotes: RemoteReport[] = [];
  for (const file of files) {
    const outPath = outPathOf(file.sourceFile.fileName, srcDir, outDir);
    const used = new Set<string>();
    const planned: PlannedRemote[] = file.analyses.map((analysis) => {
      const stem = path.basename(outPath, path.extname(outPath));
      const extension = path.extname(outPath) === ".mjs" ? ".mjs" : ".js";
      const label = labelFor(analysis.call, used, (candidate) => taken.has(path.join(path.dirname(outPath), `${stem}.${candidate}.task${extension}`)));
      const moduleFile = `${stem}.${label}.task${extension}`;
      taken.add(path.join(path.dirname(outPath), moduleFile));
      const exportName = `__rayts_task_${label}`;
      const methods = analysis.call.kind === "actor" ? actorMethods(project.checker, analysis.call) : undefined;
      const captureSites: Record<string, string> = {};
      for (const capture of analysis.captures) {
        if (capture.kind !== "ref") continue;
        const location = locationOf(capture.declaration);
        captureSites[capture.name] = `${path.relative(cwd, location.file)}:${location.line}:${location.column}`;
      }
      remotes.push(remoteReport(analysis, path.join(path.dirname(outPath), moduleFile), exportName, methods, file.raytsSpecifier, cwd));
      return { analysis, moduleFile, exportName, methods, captureSites, generators: generatorParts(project.checker, analysis.call) };
    });
    plans.push({ sourceFile: file.sourceFile, outPath, raytsSpecifier: file.raytsSpecifier, remotes: planned });
  }

  // Everything but the write runs with `check` too: emission, and whether outDir can take the files.
  let outputs: OutputFile[] = [];
  let stale = { remove: [] as readonly string[], kept: [] as readonly string[] };
  if (!hasErrors(diagnostics)) {
    for (const plan of plans) {
      try {
        outputs.push(...emitFile(plan, outDir, srcDir, project.compilerOptions, cache?.memo));
      } catch (error) {
        diagnostics.push(internalError("emitting", plan.sourceFile.fileName, error, cwd));
      }
    }
    for (const asset of project.assets) outputs.push({ path: path.join(outDir, path.relative(srcDir, asset)), contents: fs.readFileSync(asset) });
    if (plans.some((plan) => plan.remotes.some((r) => r.analysis.captures.some((c) => c.kind === "ref")))) {
      outputs.push({ path: path.join(outDir, CAPTURE_CHECK_MODULE), contents: CAPTURE_CHECK_SOURCE });
    }
    const previous = readPreviousBuild(srcDir, outDir);
    // The package.json written last time governs outDir now; it is still this build's output, not a stale one.
    if (needsModulePackageJson(outDir) || wrotePackageJson(previous, outDir)) outputs.push({ path: path.join(outDir, "package.json"), contents: '{ "type": "module" }\n' });
    const plumbing = new Set([path.join(outDir, CAPTURE_CHECK_MODULE)]);
    for (const plan of plans) {
      for (const remote of plan.remotes) {
        const taskFile = path.join(path.dirname(plan.outPath), remote.moduleFile);
        plumbing.add(taskFile).add(`${taskFile}.map`);
      }
    }
    const planned = planStale(srcDir, outDir, outputs, plumbing, previous, options.clean === true);
    stale = planned;
    // A project with nothing to write and no earlier build leaves outDir alone.
    if (outputs.length > 0 || previous.files.size > 0) outputs.push(planned.manifest);
    diagnostics.push(...checkWritable(outputs));
  }
  if (hasErrors(diagnostics)) stale = { remove: [], kept: [] };
  if (hasErrors(diagnostics) || options.check === true) outputs = [];
  const sorted = sortDiagnostics(diagnostics);
  return {
    diagnostics: sorted,
    report: {
      ...base,
      written: outputs.length > 0,
      files: project.sourceFiles.length,
      remoteFunctions: remotes,
      diagnostics: sorted.map((d) => diagnosticReport(d, cwd)),
      removed: stale.remove.map((file) => path.relative(cwd, file)),
      staleKept: stale.kept.map((file) => path.relative(cwd, file)),
    },
    outputs,
    stale: { outDir, remove: outputs.length > 0 ? stale.remove : [] },
  };
}

export { writeOutputs };
