/**
 * In-memory TypeScript snippets for unit tests of the analysis passes: each
 * snippet is its own program; the standard library's files are parsed once
 * and shared between programs.
 */
import ts from "typescript";

const OPTIONS: ts.CompilerOptions = { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, strict: true, noEmit: true };
const base = ts.createCompilerHost(OPTIONS, true);
const shared = new Map<string, ts.SourceFile | undefined>();
let count = 0;

/** A program holding `text` as one module; returns its source file and checker. */
export function snippet(text: string): { file: ts.SourceFile; checker: ts.TypeChecker } {
  const name = `/snippet${++count}.ts`;
  const host: ts.CompilerHost = {
    ...base,
    fileExists: (file) => file === name || base.fileExists(file),
    readFile: (file) => (file === name ? text : base.readFile(file)),
    getSourceFile: (file, language) => {
      if (file === name) return ts.createSourceFile(name, text, OPTIONS.target ?? ts.ScriptTarget.ES2022, true);
      if (!shared.has(file)) shared.set(file, base.getSourceFile(file, language));
      return shared.get(file);
    },
  };
  const program = ts.createProgram([name], OPTIONS, host);
  const file = program.getSourceFile(name);
  if (file === undefined) throw new Error(`snippet ${name} was not loaded`);
  return { file, checker: program.getTypeChecker() };
}

/** The initializer of the module-level `const <name> = ...` of a snippet. */
export function initializerOf(file: ts.SourceFile, name: string): ts.Expression {
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const decl of statement.declarationList.declarations) {
      if (ts.isIdentifier(decl.name) && decl.name.text === name && decl.initializer !== undefined) return decl.initializer;
    }
  }
  throw new Error(`no const ${name} with an initializer in the snippet`);
}
