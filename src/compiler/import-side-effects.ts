/**
 * Task modules re-import the modules whose bindings a remote function uses,
 * so those modules' top-level code runs in every worker that loads the
 * task. For the project's own modules, that code should be declarations
 * only: a module that calls `init()`, logs or starts work at its top level
 * (typically the program's entry point) would do it again in each worker.
 * This pass finds such statements, transitively through the project's
 * relative imports, and turns them into RC1304 warnings.
 */
import path from "node:path";
import ts from "typescript";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import type { RemoteAnalysis } from "./classify-captures.js";
import { isRaytsRuntimeFile, resolveAlias } from "./find-remote-calls.js";
import { locationOf } from "./syntax.js";

/** Declaration files of the standard library and of Node's own modules. */
const BUILT_IN_TYPES = /[\\/](typescript[\\/]lib[\\/]lib\.[^\\/]*\.d\.ts|@types[\\/]node[\\/].*\.d\.ts)$/;

/**
 * True when a `const`/`let` initialiser calls something at load time: a
 * call of the program's own code or of a package (`const db = connect()`).
 * Calls of the standard library (`Object.freeze`, `Symbol()`) and of rayts's
 * `remote` only build values. Code inside functions and classes does not
 * run at load time.
 */
function callsAtLoad(checker: ts.TypeChecker, node: ts.Node): boolean {
  let found = false;
  const visit = (child: ts.Node): void => {
    if (found || ts.isFunctionLike(child) || ts.isClassLike(child)) return;
    if (ts.isAwaitExpression(child) || (ts.isForOfStatement(child) && child.awaitModifier !== undefined)) {
      found = true;
      return;
    }
    if (ts.isCallExpression(child) || ts.isTaggedTemplateExpression(child) || ts.isNewExpression(child)) {
      const callee = ts.isTaggedTemplateExpression(child) ? child.tag : child.expression;
      const symbol = checker.getSymbolAtLocation(ts.isPropertyAccessExpression(callee) ? callee.name : callee);
      const target = symbol === undefined ? undefined : resolveAlias(checker, symbol);
      const decl = target?.valueDeclaration ?? target?.declarations?.[0];
      const file = decl?.getSourceFile();
      const builtIn = file !== undefined && (file.hasNoDefaultLib || BUILT_IN_TYPES.test(file.fileName) || isRaytsRuntimeFile(file.fileName));
      if (!builtIn && decl !== undefined) {
        found = true;
        return;
      }
    }
    ts.forEachChild(child, visit);
  };
  ts.forEachChild(node, visit);
  return found;
}

/** The first top-level statement that does something when the module loads, if any. */
function firstSideEffect(checker: ts.TypeChecker, sourceFile: ts.SourceFile): ts.Statement | undefined {
  for (const statement of sourceFile.statements) {
    if (
      ts.isImportDeclaration(statement) ||
      ts.isExportDeclaration(statement) ||
      ts.isExportAssignment(statement) ||
      ts.isFunctionDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isEnumDeclaration(statement) ||
      ts.isModuleDeclaration(statement) ||
      ts.isImportEqualsDeclaration(statement) ||
      ts.isEmptyStatement(statement)
    ) {
      continue;
    }
    // Declarations are fine unless they wait on something at load time.
    if (ts.isVariableStatement(statement) && !callsAtLoad(checker, statement)) continue;
    return statement;
  }
  return undefined;
}

/** The project source file a relative module specifier names, if it is one of `files`. */
function importedFile(checker: ts.TypeChecker, specifier: ts.Expression, files: ReadonlySet<ts.SourceFile>): ts.SourceFile | undefined {
  if (!ts.isStringLiteralLike(specifier) || !specifier.text.startsWith(".")) return undefined;
  const decl = checker.getSymbolAtLocation(specifier)?.valueDeclaration;
  return decl !== undefined && ts.isSourceFile(decl) && files.has(decl) ? decl : undefined;
}

/** Relative-import targets of a file, among the project's files. */
function importsOf(checker: ts.TypeChecker, file: ts.SourceFile, files: ReadonlySet<ts.SourceFile>): ts.SourceFile[] {
  const found: ts.SourceFile[] = [];
  for (const statement of file.statements) {
    if ((ts.isImportDeclaration(statement) && statement.importClause?.phaseModifier !== ts.SyntaxKind.TypeKeyword) || (ts.isExportDeclaration(statement) && !statement.isTypeOnly)) {
      const spec = statement.moduleSpecifier;
      const target = spec === undefined ? undefined : importedFile(checker, spec, files);
      if (target !== undefined) found.push(target);
    }
  }
  return found;
}

/**
 * RC1304 warnings for the remote functions whose task modules would run a
 * project module's top-level code in workers.
 */
export function importSideEffectWarnings(checker: ts.TypeChecker, analyses: readonly RemoteAnalysis[], files: ReadonlySet<ts.SourceFile>, cwd: string): Diagnostic[] {
  const effects = new Map<ts.SourceFile, ts.Statement | undefined>();
  const effectOf = (file: ts.SourceFile): ts.Statement | undefined => {
    if (!effects.has(file)) effects.set(file, firstSideEffect(checker, file));
    return effects.get(file);
  };
  const warnings: Diagnostic[] = [];
  for (const analysis of analyses) {
    const label = analysis.call.binding ?? analysis.call.name;
    const reported = new Set<ts.SourceFile>();
    for (const capture of analysis.captures) {
      if (capture.kind !== "import") continue;
      const start = importedFile(checker, capture.declaration.moduleSpecifier, files);
      if (start === undefined) continue;
      // Breadth-first through the project's imports: the first module with top-level effects explains the problem.
      const seen = new Set<ts.SourceFile>([start]);
      for (const queue = [start]; queue.length > 0; ) {
        const file = queue.shift() as ts.SourceFile;
        const effect = effectOf(file);
        if (effect !== undefined) {
          if (!reported.has(file)) {
            reported.add(file);
            const where = locationOf(effect);
            const module = path.relative(cwd, file.fileName);
            const chain = file === start ? "" : ` (imported through ${capture.declaration.moduleSpecifier.getText()})`;
            warnings.push(
              diagnostic(
                "RC1304",
                `remote function ${label} re-imports \`${capture.name}\` in workers, which runs the top-level code of ${module}${chain} there: line ${where.line} does more than declare`,
                locationOf(capture.declaration),
              ),
            );
          }
          break;
        }
        for (const next of importsOf(checker, file, files)) {
          if (!seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
    }
  }
  return warnings;
}
