/**
 * Classifying what a remote function captures, and how each capture reaches
 * the worker (DESIGN.md, "Compiler"):
 *
 * | captured name                          | shipped as                                   |
 * |----------------------------------------|----------------------------------------------|
 * | import binding                         | `import`: re-imported by the task module     |
 * | module-level function/class/enum, or a | `copy`: copied into the task module, with    |
 * |   const holding a function/class expr  |   what it uses in turn (transitively)        |
 * | module-level const value               | `ref`: put once on first call, passed by ref |
 * | const holding a remote function/actor  | `remote`: its handle, passed by ref          |
 * |   class (or an imported one)           |                                              |
 * | rayts API name used without import     | `runtime`: imported from rayts, as the       |
 * |   (`get`, `ray`, ... as uncompiled)    |   uncompiled runtime provides it             |
 *
 * Everything else that crosses the function's boundary is an error: a
 * mutable `let`/`var`, `this` or `arguments` of the enclosing scope, a
 * variable of an enclosing function or block.
 */
import ts from "typescript";
import { estimateInitializerBytes } from "./capture-size.js";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import { isConstDeclaration, isModuleLevelVariable, isRaytsRuntimeFile, resolveAlias, type RemoteCall, type RemoteKind } from "./find-remote-calls.js";
import { freeReferences } from "./free-identifiers.js";
import { locationOf, unwrapExpression } from "./syntax.js";
import { TASK_SCOPE_NAMES } from "../core/api/api-names.js";

/** Names under which an uncompiled task sees the rayts API (see the runtime's worker). */
export const RUNTIME_SCOPE_NAMES: readonly string[] = TASK_SCOPE_NAMES;

/** How an import binding is written. */
export type ImportForm =
  | { readonly form: "default" }
  | { readonly form: "namespace" }
  | { readonly form: "named"; readonly imported: string };

/** One captured name and how it is shipped. */
export type Capture =
  | { readonly kind: "import"; readonly name: string; readonly binding: ImportForm; readonly declaration: ts.ImportDeclaration; readonly via: string | undefined }
  | {
      readonly kind: "copy";
      readonly name: string;
      readonly what: "function" | "class" | "const" | "enum" | "actor class";
      /** The declarations to copy, in source order (several for overloads). */
      readonly declarations: readonly ts.Node[];
      readonly via: string | undefined;
    }
  | {
      readonly kind: "ref";
      readonly name: string;
      readonly declaration: ts.Node;
      /** Size in bytes read from the initializer, when it is literal. */
      readonly estimatedBytes: number | undefined;
      readonly via: string | undefined;
    }
  | { readonly kind: "remote"; readonly name: string; readonly declaration: ts.Node; readonly via: string | undefined }
  | { readonly kind: "runtime"; readonly name: string; readonly via: string | undefined };

/** The result of analysing one remote function. */
export interface RemoteAnalysis {
  readonly call: RemoteCall;
  /** All captures, each name once: imports, copies (in source order), refs, remotes, runtime names. */
  readonly captures: readonly Capture[];
  /** Names read from the global scope (`Math`, `console`, ...): nothing to ship. */
  readonly globals: readonly string[];
  /** The expression the task module's factory returns. */
  readonly returns: { readonly kind: "node"; readonly node: ts.Node } | { readonly kind: "name"; readonly name: string };
  /** Warnings about captures that ship but may not behave as in the driver. */
  readonly warnings: readonly Diagnostic[];
}

const KIND_ORDER: Readonly<Record<Capture["kind"], number>> = { import: 0, copy: 1, ref: 2, remote: 3, runtime: 4 };

/** `"RemoteFunction"` or `"ActorClass"` when a symbol's type is that rayts handle class. */
function handleType(checker: ts.TypeChecker, symbol: ts.Symbol, at: ts.Node): "RemoteFunction" | "ActorClass" | undefined {
  const type = checker.getTypeOfSymbolAtLocation(symbol, at);
  const typeSymbol = type.getSymbol() ?? type.aliasSymbol;
  const name = typeSymbol?.getName();
  if (typeSymbol === undefined || (name !== "RemoteFunction" && name !== "ActorClass")) return undefined;
  return (typeSymbol.declarations ?? []).some((decl) => isRaytsRuntimeFile(decl.getSourceFile().fileName)) ? name : undefined;
}

/**
 * The name of the class a value is an instance of, when that class is
 * declared in the user's sources: structured clone keeps its fields but not
 * its prototype. Library classes (Map, Date, typed arrays, Arrow tables) are
 * handled by the runtime's codec.
 */
function userClassOf(type: ts.Type): string | undefined {
  const symbol = type.getSymbol();
  if (symbol === undefined || (symbol.flags & ts.SymbolFlags.Class) === 0) return undefined;
  const decl = symbol.declarations?.find((d) => ts.isClassDeclaration(d) || ts.isClassExpression(d));
  if (decl === undefined || decl.getSourceFile().isDeclarationFile) return undefined;
  return symbol.getName();
}

/**
 * The path of a function-valued property in an object literal's type
 * (`handlers.onData`), looking a few levels deep: structured clone refuses
 * functions, so such a const cannot be put.
 */
function functionProperty(checker: ts.TypeChecker, type: ts.Type, at: ts.Node, depth = 0): string | undefined {
  const isObjectLiteral = ((type.getSymbol()?.flags ?? 0) & ts.SymbolFlags.ObjectLiteral) !== 0;
  if (depth > 3 || !isObjectLiteral) return undefined;
  for (const property of checker.getPropertiesOfType(type)) {
    const propertyType = checker.getTypeOfSymbolAtLocation(property, at);
    if (propertyType.getCallSignatures().length > 0 || propertyType.getConstructSignatures().length > 0) return property.getName();
    const inner = functionProperty(checker, propertyType, at, depth + 1);
    if (inner !== undefined) return `${property.getName()}.${inner}`;
  }
  return undefined;
}

/** True for a namespace that exists at run time (it holds more than types). */
function isInstantiated(decl: ts.ModuleDeclaration): boolean {
  if (ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Ambient) return false;
  const body = decl.body;
  if (body === undefined) return false;
  if (ts.isModuleDeclaration(body)) return isInstantiated(body);
  return ts.isModuleBlock(body) && body.statements.some((st) => !ts.isInterfaceDeclaration(st) && !ts.isTypeAliasDeclaration(st));
}

/** The variable declaration a destructured binding belongs to. */
function enclosingVariable(node: ts.Node): ts.VariableDeclaration | ts.ParameterDeclaration | undefined {
  let current: ts.Node = node;
  while (ts.isBindingElement(current) || ts.isObjectBindingPattern(current) || ts.isArrayBindingPattern(current)) current = current.parent;
  return ts.isVariableDeclaration(current) || ts.isParameter(current) ? current : undefined;
}

/** `function`, `class`, `const`... as the user would call the declaration. */
function declarationWord(decl: ts.Node): string {
  if (ts.isFunctionDeclaration(decl)) return "function";
  if (ts.isClassDeclaration(decl)) return "class";
  if (ts.isParameter(decl)) return "parameter";
  if (ts.isVariableDeclaration(decl)) {
    const flags = ts.getCombinedNodeFlags(decl);
    return flags & ts.NodeFlags.Const ? "const" : flags & ts.NodeFlags.Let ? "let" : "var";
  }
  return "declaration";
}

function lineOf(decl: ts.Node): number {
  return locationOf(decl).line ?? 0;
}

/** Where a copied declaration's code starts: function/class/enum declarations, or a const's declarator. */
function isFunctionOrClassExpression(init: ts.Expression | undefined): boolean {
  if (init === undefined) return false;
  const node = unwrapExpression(init);
  return ts.isArrowFunction(node) || ts.isFunctionExpression(node) || ts.isClassExpression(node);
}

/**
 * Analyses one remote call: its free names, those of the declarations it
 * pulls in (transitively), and how each is shipped, with diagnostics for
 * every name that cannot be shipped (errors) and warnings.
 */
export function analyzeRemote(
  checker: ts.TypeChecker,
  call: RemoteCall,
  remoteCalls: ReadonlyMap<ts.CallExpression, RemoteKind>,
  hasRaytsImport: boolean,
): { analysis: RemoteAnalysis; diagnostics: Diagnostic[] } {
  const label = call.binding ?? call.name;
  const self = call.binding !== undefined || call.name !== "anonymous" ? `${call.kind === "actor" ? "actor class" : "remote function"} ${label}` : `the anonymous ${call.kind === "actor" ? "actor class" : "remote function"}`;
  const diagnostics: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const captures = new Map<string, Capture>();
  const globals = new Set<string>();
  const pending: { root: ts.Node; via: string | undefined }[] = [];
  const copied = new Set<ts.Symbol>();

  const subject = (via: string | undefined): string => (via === undefined ? self : `${via} (copied into ${self})`);

  const copy = (name: string, symbol: ts.Symbol, via: string | undefined, at: ts.Node): void => {
    if (copied.has(symbol)) return;
    copied.add(symbol);
    // A namespace merged into a function, class or enum (`enum Unit {}` + `namespace Unit {}`) is part of it: copied too.
    const decls = (symbol.declarations ?? []).filter(
      (d) =>
        ts.isFunctionDeclaration(d) ||
        ts.isClassDeclaration(d) ||
        ts.isEnumDeclaration(d) ||
        ts.isVariableDeclaration(d) ||
        (ts.isModuleDeclaration(d) && isInstantiated(d)),
    );
    const first = decls[0];
    if (first === undefined) {
      diagnostics.push(diagnostic("RC1106", `${subject(via)} uses \`${name}\`, which cannot be copied into a task module`, locationOf(at)));
      return;
    }
    const what = ts.isFunctionDeclaration(first)
      ? "function"
      : ts.isClassDeclaration(first)
        ? "class"
        : ts.isEnumDeclaration(first)
          ? "enum"
          : isFunctionOrClassExpression(ts.isVariableDeclaration(first) ? first.initializer : undefined)
            ? "const"
            : "actor class";
    captures.set(name, { kind: "copy", name, what, declarations: decls, via });
    for (const decl of decls) pending.push({ root: decl, via: name });
  };

  const classify = (name: string, symbol: ts.Symbol, at: ts.Node, via: string | undefined): void => {
    if (captures.has(name)) return;
    const decl = symbol.flags & ts.SymbolFlags.Alias ? symbol.declarations?.[0] : (symbol.valueDeclaration ?? symbol.declarations?.[0]);
    if (decl === undefined || decl.getSourceFile() !== call.sourceFile) {
      globals.add(name); // lib or global script declarations: present in every worker
      return;
    }
    if (ts.isImportSpecifier(decl) || ts.isImportClause(decl) || ts.isNamespaceImport(decl)) {
      const importDecl = ts.isImportSpecifier(decl) ? decl.parent.parent.parent : ts.isImportClause(decl) ? decl.parent : decl.parent.parent;
      if (!ts.isImportDeclaration(importDecl)) return; // JSDoc `@import`: types only
      if (importDecl.importClause?.phaseModifier === ts.SyntaxKind.TypeKeyword || (ts.isImportSpecifier(decl) && decl.isTypeOnly)) return;
      const target = resolveAlias(checker, symbol);
      // A remote function's handle survives a structured clone; an imported actor class is re-imported instead.
      if (target.flags & ts.SymbolFlags.Value && handleType(checker, symbol, at) === "RemoteFunction") {
        captures.set(name, { kind: "remote", name, declaration: decl, via });
        return;
      }
      const binding: ImportForm = ts.isImportSpecifier(decl)
        ? { form: "named", imported: (decl.propertyName ?? decl.name).text }
        : ts.isImportClause(decl)
          ? { form: "default" }
          : { form: "namespace" };
      captures.set(name, { kind: "import", name, binding, declaration: importDecl, via });
      return;
    }
    if (ts.isFunctionDeclaration(decl) || ts.isClassDeclaration(decl) || ts.isEnumDeclaration(decl)) {
      if (!ts.isSourceFile(decl.parent)) {
        diagnostics.push(
          diagnostic("RC1104", `${subject(via)} captures \`${name}\`, a ${declarationWord(decl)} declared inside a function or block (line ${lineOf(decl)})`, locationOf(at)),
        );
        return;
      }
      copy(name, symbol, via, at);
      return;
    }
    if (ts.isModuleDeclaration(decl) || ts.isImportEqualsDeclaration(decl)) {
      diagnostics.push(diagnostic("RC1106", `${subject(via)} uses \`${name}\`, a namespace or \`import =\` binding, which cannot be shipped`, locationOf(at)));
      return;
    }
    const variable = enclosingVariable(decl);
    if (variable === undefined) {
      globals.add(name);
      return;
    }
    if (ts.isParameter(variable) || !isModuleLevelVariable(variable)) {
      diagnostics.push(
        diagnostic(
          "RC1104",
          `${subject(via)} captures \`${name}\`, a ${declarationWord(variable)} of an enclosing function or block (line ${lineOf(variable)})`,
          locationOf(at),
        ),
      );
      return;
    }
    if (!isConstDeclaration(variable)) {
      diagnostics.push(
        diagnostic(
          "RC1101",
          `${subject(via)} captures \`${name}\`, a module-level \`${declarationWord(variable)}\` (line ${lineOf(variable)}) that may change after it is shipped`,
          locationOf(at),
        ),
      );
      return;
    }
    if (ts.getCombinedModifierFlags(variable) & ts.ModifierFlags.Ambient) {
      globals.add(name); // `declare const X`: provided by the environment
      return;
    }
    const init = variable.initializer;
    if (decl === variable && isFunctionOrClassExpression(init)) {
      copy(name, symbol, via, at);
      return;
    }
    const initCall = init === undefined ? undefined : unwrapExpression(init);
    const compiledKind = initCall !== undefined && ts.isCallExpression(initCall) ? remoteCalls.get(initCall) : undefined;
    const handle = compiledKind === "actor" ? "ActorClass" : compiledKind === "task" ? "RemoteFunction" : handleType(checker, symbol, at);
    // An actor class handle does not survive a structured clone: the task module rebuilds it
    // from its own compiled definition (the copied `const C = remote(class ...)`).
    if (handle === "ActorClass" && decl === variable) {
      copy(name, symbol, via, at);
      return;
    }
    if (handle !== undefined) {
      captures.set(name, { kind: "remote", name, declaration: variable, via });
      return;
    }
    const valueType = checker.getTypeOfSymbolAtLocation(symbol, at);
    if (valueType.getCallSignatures().length > 0 || valueType.getConstructSignatures().length > 0) {
      diagnostics.push(
        diagnostic("RC1106", `${subject(via)} captures \`${name}\`, a function computed at run time, which cannot be put in the object store`, locationOf(at)),
      );
      return;
    }
    const method = functionProperty(checker, valueType, at);
    if (method !== undefined) {
      diagnostics.push(
        diagnostic(
          "RC1106",
          `${subject(via)} captures \`${name}\`, an object holding a function (\`${method}\`), which cannot be put in the object store`,
          locationOf(at),
        ),
      );
      return;
    }
    const instanceOf = userClassOf(valueType);
    if (instanceOf !== undefined) {
      warnings.push(
        diagnostic(
          "RC1303",
          `${subject(via)} captures \`${name}\`, an instance of class ${instanceOf}: it reaches the worker as a plain object, without its methods`,
          locationOf(at),
        ),
      );
    }
    const estimatedBytes = decl === variable && init !== undefined ? estimateInitializerBytes(checker, init) : undefined;
    captures.set(name, { kind: "ref", name, declaration: variable, estimatedBytes, via });
  };

  const analyse = (root: ts.Node, via: string | undefined): void => {
    for (const ref of freeReferences(checker, root)) {
      switch (ref.kind) {
        case "this":
          diagnostics.push(diagnostic("RC1102", `${subject(via)} uses \`this\` of the enclosing scope, which does not exist in the worker`, locationOf(ref.node)));
          break;
        case "arguments":
          diagnostics.push(diagnostic("RC1103", `${subject(via)} uses \`arguments\` of the enclosing scope, which does not exist in the worker`, locationOf(ref.node)));
          break;
        case "unresolved":
          if (hasRaytsImport && RUNTIME_SCOPE_NAMES.includes(ref.name)) {
            if (!captures.has(ref.name)) captures.set(ref.name, { kind: "runtime", name: ref.name, via });
          } else {
            globals.add(ref.name);
          }
          break;
        case "symbol":
          classify(ref.name, ref.symbol, ref.node, via);
          break;
      }
    }
  };

  let returns: RemoteAnalysis["returns"];
  const target = call.target;
  if (target.kind === "expression") {
    returns = { kind: "node", node: target.node };
    pending.push({ root: target.node, via: undefined });
  } else {
    returns = { kind: "name", name: target.name };
    classify(target.name, target.symbol, call.call.arguments[0] ?? call.call, undefined);
  }
  for (let next = pending.shift(); next !== undefined; next = pending.shift()) analyse(next.root, next.via);

  const position = (capture: Capture): number => (capture.kind === "copy" ? (capture.declarations[0]?.pos ?? 0) : 0);
  const sorted = [...captures.values()].sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || position(a) - position(b));
  // With errors the analysis is still returned (captures found so far), so the report lists every remote function.
  return { analysis: { call, captures: sorted, globals: [...globals].sort(), returns, warnings }, diagnostics };
}
