/**
 * Emitting the compiled program. For each source file:
 *
 * - the caller module: the file itself, transpiled, where each compiled
 *   `remote(f, opts)` becomes
 *   `remoteFromModule({ name, moduleUrl, exportName, captures }, opts)`
 *   (`actorFromModule` with `methods` for classes);
 * - one task module per remote function, beside the caller module so that
 *   relative imports resolve the same way. It holds the imports the
 *   function uses, copies of the declarations it uses, and a factory that
 *   receives the captured values by name and returns the function:
 *
 *       import { scale } from "./util.js";
 *       export function __rayts_task_foo2({ A }) {
 *         function helper(j) { return A[j] * 2; }
 *         return (j) => scale(helper(j));
 *       }
 *
 *   Workers import only this module, so the caller's top-level code never
 *   runs there.
 *
 * Code is generated as TypeScript by splicing the original source text, then
 * transpiled file by file with TypeScript (types erased, ESM output; see
 * transpile.ts).
 */
import path from "node:path";
import ts from "typescript";
import { CAPTURE_CHECK_EXPORT, CAPTURE_CHECK_MODULE } from "./capture-size.js";
import type { Capture, RemoteAnalysis } from "./classify-captures.js";
import { emitted, noMemo, transpile, transpileOptions, type TranspileMemo } from "./transpile.js";

/** A file to write, by absolute path: generated text, or bytes copied from srcDir. */
export interface OutputFile {
  readonly path: string;
  readonly contents: string | Uint8Array;
}

/** A remote function with its place in the output. */
export interface PlannedRemote {
  readonly analysis: RemoteAnalysis;
  /** File name of its task module, in the caller's output folder. */
  readonly moduleFile: string;
  /** The factory export of that module. */
  readonly exportName: string;
  /** Actor methods, for classes. */
  readonly methods: readonly string[] | undefined;
  /** Whether the function is a generator, or which methods of the class are (their calls stream). */
  readonly generators?: { readonly function: boolean; readonly methods: readonly string[] };
  /** Where each captured const is declared (`src/main.ts:3:7`), shown by the run-time size check. */
  readonly captureSites: Readonly<Record<string, string>>;
}

/** One source file's compile plan. */
export interface FilePlan {
  readonly sourceFile: ts.SourceFile;
  /** Absolute output path of the caller module. */
  readonly outPath: string;
  /** The module specifier the file imports rayts by (e.g. "rayts"). */
  readonly raytsSpecifier: string;
  readonly remotes: readonly PlannedRemote[];
}

/** Names the emitted code introduces; users' code never declares `__rayts_*`. */
const REMOTE_FROM_MODULE = "__rayts_remoteFromModule";
const ACTOR_FROM_MODULE = "__rayts_actorFromModule";
const CHECK_CAPTURE = "__rayts_checkCapture";

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: () => string;
}

/** What a generated module must import because of the replacements rendered into it. */
interface Needs {
  remoteFromModule: boolean;
  actorFromModule: boolean;
  checkCapture: boolean;
}

function noNeeds(): Needs {
  return { remoteFromModule: false, actorFromModule: false, checkCapture: false };
}

/** Output extension for a source file: `.ts`/`.tsx` -> `.js`, `.mts` -> `.mjs`, `.cts` -> `.cjs`. */
export function outputExtension(file: string): string {
  const ext = path.extname(file);
  return ext === ".mts" ? ".mjs" : ext === ".cts" ? ".cjs" : ".js";
}

/** A JavaScript string literal. */
function quote(text: string): string {
  return JSON.stringify(text);
}

/** A relative module specifier from one output folder to a file, `./x.js` style. */
function relativeSpecifier(fromDir: string, file: string): string {
  const rel = path.relative(fromDir, file).split(path.sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

function lineBreaks(text: string): number {
  let count = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

/**
 * Renders one file's code, splicing compiled remote calls (and deletions)
 * into the original text. Nested calls are rendered inside their parent's
 * replacement, so a remote function defined inside a remote function is
 * compiled too.
 */
class Renderer {
  readonly #sourceFile: ts.SourceFile;
  readonly #calls: Map<ts.CallExpression, PlannedRemote>;
  readonly #captureCheck: string;

  constructor(plan: FilePlan, outDir: string) {
    this.#sourceFile = plan.sourceFile;
    this.#calls = new Map(plan.remotes.map((remote) => [remote.analysis.call.call, remote]));
    this.#captureCheck = relativeSpecifier(path.dirname(plan.outPath), path.join(outDir, CAPTURE_CHECK_MODULE));
  }

  /** The specifier of the capture-size helper from this file's output folder. */
  get captureCheckSpecifier(): string {
    return this.#captureCheck;
  }

  /** Text of `[start, end)` with the compiled calls inside it replaced, plus extra edits. */
  render(start: number, end: number, needs: Needs, extra: readonly Edit[] = []): string {
    const edits: Edit[] = [...extra];
    for (const [call, remote] of this.#calls) {
      const callStart = call.getStart(this.#sourceFile);
      if (callStart >= start && call.end <= end) edits.push({ start: callStart, end: call.end, text: () => this.#replacement(remote, needs) });
    }
    edits.sort((a, b) => a.start - b.start || b.end - a.end);
    const text = this.#sourceFile.text;
    let out = "";
    let at = start;
    for (const edit of edits) {
      if (edit.start < at) continue; // nested inside an edit already applied: rendered by it
      // Pad to the replaced text's line count: every line of the output stays on its source line (source maps).
      const replacement = edit.text();
      const missing = lineBreaks(text.slice(edit.start, edit.end)) - lineBreaks(replacement);
      out += text.slice(at, edit.start) + replacement + "\n".repeat(Math.max(0, missing));
      at = edit.end;
    }
    return out + text.slice(at, end);
  }

  /** Text of a node (from its first token) with its compiled calls replaced. */
  renderNode(node: ts.Node, needs: Needs, extra: readonly Edit[] = []): string {
    return this.render(node.getStart(this.#sourceFile), node.end, needs, extra);
  }

  /** `remoteFromModule({...}, options)` for one call. */
  #replacement(remote: PlannedRemote, needs: Needs): string {
    const { analysis } = remote;
    const call = analysis.call;
    const fields = [
      `name: ${quote(call.name)}`,
      `moduleUrl: new URL(${quote(`./${remote.moduleFile}`)}, import.meta.url).href`,
      `exportName: ${quote(remote.exportName)}`,
    ];
    const thunks = analysis.captures.flatMap((capture) => {
      if (capture.kind === "ref") {
        // The runtime puts the value on the first call in each runtime, once per object however
        // many remote functions capture it; the size check warns once per const.
        needs.checkCapture = true;
        const args = [capture.name, quote(capture.name), quote(call.binding ?? call.name), quote(remote.captureSites[capture.name] ?? capture.name)].join(", ");
        return [`${capture.name}: () => ${CHECK_CAPTURE}(${args})`];
      }
      return capture.kind === "remote" ? [`${capture.name}: () => ${capture.name}`] : [];
    });
    if (thunks.length > 0) fields.push(`captures: { ${thunks.join(", ")} }`);
    let callee = REMOTE_FROM_MODULE;
    if (call.kind === "actor") {
      callee = ACTOR_FROM_MODULE;
      needs.actorFromModule = true;
      fields.push(`methods: ${JSON.stringify(remote.methods ?? [])}`);
      if ((remote.generators?.methods.length ?? 0) > 0) fields.push(`streamingMethods: ${JSON.stringify(remote.generators?.methods)}`);
    } else {
      needs.remoteFromModule = true;
      if (remote.generators?.function === true) fields.push("streaming: true");
    }
    const options = call.options === undefined ? "" : `, ${this.renderNode(call.options, needs)}`;
    return `${callee}({ ${fields.join(", ")} }${options})`;
  }
}

/** Import lines for what rendered replacements use. */
function runtimeImports(needs: Needs, raytsSpecifier: string, captureCheck: string): string[] {
  const names: string[] = [];
  if (needs.remoteFromModule) names.push(`remoteFromModule as ${REMOTE_FROM_MODULE}`);
  if (needs.actorFromModule) names.push(`actorFromModule as ${ACTOR_FROM_MODULE}`);
  const lines = names.length > 0 ? [`import { ${names.join(", ")} } from ${quote(raytsSpecifier)};`] : [];
  if (needs.checkCapture) lines.push(`import { ${CAPTURE_CHECK_EXPORT} as ${CHECK_CAPTURE} } from ${quote(captureCheck)};`);
  return lines;
}

/** Edits that drop `export` and `default` from a copied declaration. */
function exportDeletions(node: ts.Node): Edit[] {
  if (!ts.canHaveModifiers(node)) return [];
  return (ts.getModifiers(node) ?? [])
    .filter((m) => m.kind === ts.SyntaxKind.ExportKeyword || m.kind === ts.SyntaxKind.DefaultKeyword)
    .map((m) => ({ start: m.getStart(), end: m.end, text: () => "" }));
}

/** The import statement that brings one captured binding into a task module. */
function importLine(capture: Extract<Capture, { kind: "import" }>): string {
  const decl = capture.declaration;
  const from = decl.moduleSpecifier.getText();
  const attributes = decl.attributes === undefined ? "" : ` ${decl.attributes.getText()}`;
  const binding = capture.binding;
  const clause =
    binding.form === "default"
      ? capture.name
      : binding.form === "namespace"
        ? `* as ${capture.name}`
        : binding.imported === capture.name
          ? `{ ${capture.name} }`
          : `{ ${/^[A-Za-z_$][\w$]*$/.test(binding.imported) ? binding.imported : quote(binding.imported)} as ${capture.name} }`;
  return `import ${clause} from ${from}${attributes};`;
}

/** Generated TypeScript text, with the source line (0-based) each of its lines comes from, if any. */
interface Generated {
  readonly text: string;
  readonly origins: readonly (number | undefined)[];
}

/** The TypeScript text of one task module. */
function taskModuleText(plan: FilePlan, remote: PlannedRemote, renderer: Renderer, srcDir: string): Generated {
  const { analysis } = remote;
  const source = plan.sourceFile;
  const needs = noNeeds();
  const imports: string[] = [];
  const body: { text: string; line: number | undefined }[] = [];
  const params: string[] = [];
  const lineOf = (node: ts.Node): number => source.getLineAndCharacterOfPosition(node.getStart(source)).line;
  for (const capture of analysis.captures) {
    switch (capture.kind) {
      case "import":
        imports.push(importLine(capture));
        break;
      case "runtime":
        imports.push(
          capture.name === "ray"
            ? `import * as ray from ${quote(plan.raytsSpecifier)};`
            : `import { ${capture.name} } from ${quote(plan.raytsSpecifier)};`,
        );
        break;
      case "copy":
        for (const decl of capture.declarations) {
          const text = renderer.renderNode(decl, needs, exportDeletions(decl));
          body.push({ text: ts.isVariableDeclaration(decl) ? `const ${text};` : text, line: lineOf(decl) });
        }
        break;
      case "ref":
      case "remote":
        params.push(capture.name);
        break;
    }
  }
  if (analysis.returns.kind === "name") body.push({ text: `return ${analysis.returns.name};`, line: undefined });
  else body.push({ text: `return (${renderer.renderNode(analysis.returns.node, needs)});`, line: lineOf(analysis.returns.node) });
  const call = analysis.call;
  const { line } = call.sourceFile.getLineAndCharacterOfPosition(call.call.getStart(call.sourceFile));
  const file = path.relative(srcDir, call.sourceFile.fileName).split(path.sep).join("/");
  const header = [
    `// Generated by raycompile from ${file}:${line + 1}: the ${call.kind === "actor" ? "actor class" : "remote function"} ${call.binding ?? call.name}.`,
    "// Workers load this module instead of the caller's, so the caller's top-level code never runs there.",
  ];
  const parameter = params.length > 0 ? `{ ${params.join(", ")} }: any` : "";
  const lines: string[] = [];
  const origins: (number | undefined)[] = [];
  const generated = (...texts: string[]): void => {
    for (const text of texts) {
      lines.push(text);
      origins.push(undefined);
    }
  };
  generated(...header, ...imports, ...runtimeImports(needs, plan.raytsSpecifier, renderer.captureCheckSpecifier), `export function ${remote.exportName}(${parameter}) {`);
  // Not re-indented: a line break inside a template literal is part of its value.
  for (const chunk of body) {
    chunk.text.split("\n").forEach((text, index) => {
      lines.push(text);
      origins.push(chunk.line === undefined ? undefined : chunk.line + index);
    });
  }
  generated("}", "");
  return { text: lines.join("\n"), origins };
}

/**
 * Edits that keep, in the caller module, every import the uncompiled file
 * keeps: an import used only inside a remote function is no longer used
 * once the function moves to its task module, and TypeScript would drop
 * it, and with it the imported module's top-level code. A side-effect
 * import of the same module keeps that code running, in the same order.
 */
function keptImportEdits(sourceFile: ts.SourceFile, options: ts.CompilerOptions, memo: TranspileMemo): Edit[] {
  const imports = sourceFile.statements.filter(
    (s): s is ts.ImportDeclaration => ts.isImportDeclaration(s) && s.importClause !== undefined && s.importClause.phaseModifier !== ts.SyntaxKind.TypeKeyword && ts.isStringLiteral(s.moduleSpecifier),
  );
  if (imports.length === 0) return [];
  const uncompiled = memo(`uncompiled\0${sourceFile.fileName}\0${JSON.stringify(options)}\0${sourceFile.text}`, () => ({
    code: ts.transpileModule(sourceFile.text, { compilerOptions: { ...options, sourceMap: false }, fileName: sourceFile.fileName }).outputText,
    map: undefined,
  })).code;
  const output = ts.createSourceFile("uncompiled.js", uncompiled, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const kept = new Set(output.statements.flatMap((s) => (ts.isImportDeclaration(s) && ts.isStringLiteral(s.moduleSpecifier) ? [s.moduleSpecifier.text] : [])));
  return imports
    .filter((decl) => kept.has((decl.moduleSpecifier as ts.StringLiteral).text))
    .map((decl) => {
      const attributes = decl.attributes === undefined ? "" : ` ${decl.attributes.getText(sourceFile)}`;
      return { start: decl.end, end: decl.end, text: () => ` import ${decl.moduleSpecifier.getText(sourceFile)}${attributes};` };
    });
}

/** The caller module's TypeScript text: the source with its remote calls compiled, line for line. */
function callerText(plan: FilePlan, renderer: Renderer, options: ts.CompilerOptions, memo: TranspileMemo): string {
  const needs = noNeeds();
  const text = plan.sourceFile.text;
  const body = renderer.render(0, text.length, needs, keptImportEdits(plan.sourceFile, options, memo));
  const imports = runtimeImports(needs, plan.raytsSpecifier, renderer.captureCheckSpecifier);
  // At the end, so that every line keeps its number (imports are hoisted wherever they are written).
  return imports.length === 0 ? body : `${body}${body.endsWith("\n") ? "" : "\n"}${imports.join(" ")}\n`;
}

/**
 * Emits one source file: its caller module and a task module per remote
 * function, as JavaScript (and source maps when the project asks for them).
 */
export function emitFile(plan: FilePlan, outDir: string, srcDir: string, options: ts.CompilerOptions, memo: TranspileMemo = noMemo): OutputFile[] {
  const renderer = new Renderer(plan, outDir);
  const fileName = plan.sourceFile.fileName;
  const compilerOptions = transpileOptions(options, fileName);
  const outputs = emitted(plan.outPath, transpile(callerText(plan, renderer, compilerOptions, memo), fileName, compilerOptions, memo), "identity", plan.sourceFile, options);
  for (const remote of plan.remotes) {
    const taskFile = path.join(path.dirname(plan.outPath), remote.moduleFile);
    // A neutral name: TypeScript takes any `.ts` file with `.d.` in its name for a declaration file.
    const taskSource = path.join(path.dirname(fileName), `__rayts_task_module${path.extname(fileName) === ".tsx" ? ".tsx" : ".ts"}`);
    const task = taskModuleText(plan, remote, renderer, srcDir);
    outputs.push(...emitted(taskFile, transpile(task.text, taskSource, compilerOptions, memo), task.origins, plan.sourceFile, options));
  }
  return outputs;
}
