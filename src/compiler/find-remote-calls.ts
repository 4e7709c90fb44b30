/**
 * Finding the `remote(...)` calls to compile. A call counts when the type
 * checker resolves its callee to the `remote` function of the rayts package,
 * whatever it is called locally: `remote`, an alias, `ray.remote` through a
 * namespace import, or a re-export from the user's own module. A local
 * function that happens to be named `remote` does not count.
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { diagnostic, type Diagnostic } from "./diagnostics.js";
import { locationOf, unwrapExpression } from "./syntax.js";

/** The package whose `remote` the compiler looks for. */
export const RAYTS_PACKAGE = "rayts";

/** What a compiled remote call turns into. */
export type RemoteKind = "task" | "actor";

/**
 * The function or class handed to `remote`:
 * - `expression`: an arrow, function or class expression written in place;
 * - `declaration`: the name of a module-level function, class or const;
 * - `import`: the name of an imported function or class.
 */
export type RemoteTarget =
  | { readonly kind: "expression"; readonly node: ts.ArrowFunction | ts.FunctionExpression | ts.ClassExpression }
  | { readonly kind: "declaration"; readonly name: string; readonly symbol: ts.Symbol }
  | { readonly kind: "import"; readonly name: string; readonly symbol: ts.Symbol };

/** One `remote(target, options?)` call to compile. */
export interface RemoteCall {
  readonly call: ts.CallExpression;
  readonly sourceFile: ts.SourceFile;
  readonly kind: RemoteKind;
  readonly target: RemoteTarget;
  /** The options argument, if any. */
  readonly options: ts.Expression | undefined;
  /** The name the runtime gives the function uncompiled: its own `.name`, or "anonymous". */
  readonly name: string;
  /** The variable (or property) the result is stored in, when there is one; used for file names and the report. */
  readonly binding: string | undefined;
}

const packageNames = new Map<string, string | undefined>();

/** The root folder of the package a file belongs to when that package is rayts. */
function raytsPackageRoot(file: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    let name = packageNames.get(dir);
    if (!packageNames.has(dir)) {
      try {
        const json = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: unknown };
        name = typeof json.name === "string" ? json.name : "";
      } catch {
        name = undefined;
      }
      packageNames.set(dir, name);
    }
    if (name !== undefined) return name === RAYTS_PACKAGE ? dir : undefined;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** The real path of a file (through npm links), or the path itself. */
function realPath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/** True when a file is part of the rayts runtime (its build, or its sources when compiling inside the rayts repo). */
export function isRaytsRuntimeFile(file: string): boolean {
  const root = raytsPackageRoot(realPath(file));
  if (root === undefined) return false;
  const inside = path.relative(root, realPath(file)).split(path.sep);
  return inside[0] === "dist" || (inside[0] === "src" && inside[1] === "core");
}

/** Follows import and re-export aliases to the symbol that declares the value. */
export function resolveAlias(checker: ts.TypeChecker, symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

/** True when `symbol` is the runtime's `remote` function. */
function isRaytsRemote(checker: ts.TypeChecker, symbol: ts.Symbol, depth = 0): boolean {
  const target = resolveAlias(checker, symbol);
  const decls = target.declarations ?? [];
  if (decls.some((decl) => ts.isFunctionDeclaration(decl) && decl.name?.text === "remote" && isRaytsRuntimeFile(decl.getSourceFile().fileName))) return true;
  if (depth > 4) return false;
  // `const { remote } = ray` and `const r = ray.remote`: follow the const to what it reads.
  for (const decl of decls) {
    if (ts.isBindingElement(decl) && ts.isObjectBindingPattern(decl.parent) && ts.isVariableDeclaration(decl.parent.parent)) {
      const holder = decl.parent.parent;
      if (!isConstDeclaration(holder) || holder.initializer === undefined) continue;
      const key = decl.propertyName ?? decl.name;
      if (!ts.isIdentifier(key)) continue;
      const property = checker.getTypeAtLocation(holder.initializer).getProperty(key.text);
      if (property !== undefined && isRaytsRemote(checker, property, depth + 1)) return true;
    } else if (ts.isVariableDeclaration(decl) && isConstDeclaration(decl) && decl.initializer !== undefined) {
      const inner = calleeSymbol(checker, decl.initializer);
      if (inner !== undefined && inner !== symbol && isRaytsRemote(checker, inner, depth + 1)) return true;
    }
  }
  return false;
}

/** The symbol a callee names: `remote`, `r`, `ray.remote`. */
function calleeSymbol(checker: ts.TypeChecker, callee: ts.Expression): ts.Symbol | undefined {
  const inner = unwrapExpression(callee);
  if (ts.isIdentifier(inner)) return checker.getSymbolAtLocation(inner);
  if (ts.isPropertyAccessExpression(inner)) return checker.getSymbolAtLocation(inner.name);
  return undefined;
}

/** The variable or property a remote call's result lands in, e.g. `foo2` in `const foo2 = remote(...)`. */
function bindingOf(call: ts.CallExpression): string | undefined {
  let node: ts.Node = call;
  // Look through `remote(f).options(o)`, `await`, parentheses and casts.
  while (
    ts.isParenthesizedExpression(node.parent) ||
    ts.isAsExpression(node.parent) ||
    ts.isSatisfiesExpression(node.parent) ||
    (ts.isPropertyAccessExpression(node.parent) && ts.isCallExpression(node.parent.parent)) ||
    (ts.isCallExpression(node.parent) && node.parent.expression === node)
  ) {
    node = node.parent;
  }
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) && ts.isIdentifier(parent.name)) {
    return parent.name.text;
  }
  if (ts.isBinaryExpression(parent) && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    const left = parent.left;
    if (ts.isIdentifier(left)) return left.text;
    if (ts.isPropertyAccessExpression(left)) return left.name.text;
  }
  if (ts.isExportAssignment(parent)) return "default";
  return undefined;
}

/** True when a symbol's type can be constructed (a class), false when it can be called (a function). */
function isConstructable(checker: ts.TypeChecker, symbol: ts.Symbol, at: ts.Node): boolean {
  const type = checker.getTypeOfSymbolAtLocation(symbol, at);
  return type.getConstructSignatures().length > 0;
}

/** Classifies the first argument of a remote call, or explains why it cannot be compiled. */
function targetOf(
  checker: ts.TypeChecker,
  arg: ts.Expression,
): { target: RemoteTarget; kind: RemoteKind; name: string } | { error: string } {
  const node = unwrapExpression(arg);
  if (ts.isArrowFunction(node)) return { target: { kind: "expression", node }, kind: "task", name: "" };
  if (ts.isFunctionExpression(node)) return { target: { kind: "expression", node }, kind: "task", name: node.name?.text ?? "" };
  if (ts.isClassExpression(node)) return { target: { kind: "expression", node }, kind: "actor", name: node.name?.text ?? "" };
  if (!ts.isIdentifier(node)) return { error: `remote() receives ${describe(node)}, not a function or class written here or named by a declaration` };
  const symbol = checker.getSymbolAtLocation(node);
  const decl = symbol?.valueDeclaration ?? symbol?.declarations?.[0];
  if (symbol === undefined || decl === undefined) return { error: `remote() receives \`${node.text}\`, which does not resolve to a declaration` };
  const name = node.text;
  if (decl.getSourceFile() !== node.getSourceFile()) return { error: `remote() receives \`${name}\`, which is not declared in this module` };
  if (ts.isImportSpecifier(decl) || ts.isImportClause(decl)) {
    const imported = ts.isImportSpecifier(decl) ? (decl.propertyName ?? decl.name).text : "default";
    return {
      target: { kind: "import", name, symbol },
      kind: isConstructable(checker, symbol, node) ? "actor" : "task",
      name: runtimeNameOf(resolveAlias(checker, symbol)) ?? imported,
    };
  }
  const moduleLevel = (decl.parent as ts.Node | undefined) !== undefined && (ts.isSourceFile(decl.parent) || isModuleLevelVariable(decl));
  if (!moduleLevel) return { error: `remote() receives \`${name}\`, which is declared inside a function or block` };
  if (ts.isFunctionDeclaration(decl)) return { target: { kind: "declaration", name, symbol }, kind: "task", name };
  if (ts.isClassDeclaration(decl)) return { target: { kind: "declaration", name, symbol }, kind: "actor", name };
  if (ts.isVariableDeclaration(decl) && isConstDeclaration(decl) && decl.initializer !== undefined) {
    const init = unwrapExpression(decl.initializer);
    if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) {
      return { target: { kind: "declaration", name, symbol }, kind: "task", name: ts.isFunctionExpression(init) && init.name !== undefined ? init.name.text : name };
    }
    if (ts.isClassExpression(init)) return { target: { kind: "declaration", name, symbol }, kind: "actor", name: init.name?.text ?? name };
  }
  return { error: `remote() receives \`${name}\`, which is not a function or class declaration (or a const holding a function or class expression)` };
}

/**
 * The `.name` the runtime sees for an imported function or class, as the
 * uncompiled program gets it: the declaration's own name
 * (`export default function work` is `work`), the variable's for
 * `export const f = () => ...`, "default" for an anonymous default export.
 */
function runtimeNameOf(symbol: ts.Symbol): string | undefined {
  const decl = symbol.valueDeclaration ?? symbol.declarations?.[0];
  if (decl === undefined) return undefined;
  if (ts.isFunctionDeclaration(decl) || ts.isClassDeclaration(decl)) return decl.name?.text ?? "default";
  if (ts.isVariableDeclaration(decl) && ts.isIdentifier(decl.name)) {
    const init = decl.initializer === undefined ? undefined : unwrapExpression(decl.initializer);
    if (init !== undefined && (ts.isFunctionExpression(init) || ts.isClassExpression(init)) && init.name !== undefined) return init.name.text;
    return decl.name.text;
  }
  if (ts.isExportAssignment(decl)) {
    const init = unwrapExpression(decl.expression);
    if ((ts.isFunctionExpression(init) || ts.isClassExpression(init)) && init.name !== undefined) return init.name.text;
    return ts.isIdentifier(init) ? undefined : "default";
  }
  return undefined;
}

/** "a call expression", "a property access", ... for messages. */
function describe(node: ts.Node): string {
  if (ts.isNumericLiteral(node) || ts.isBigIntLiteral(node)) return `a number (${node.getText()})`;
  if (ts.isStringLiteralLike(node)) return "a string";
  if (node.kind === ts.SyntaxKind.NullKeyword || node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword) return `\`${node.getText()}\``;
  const words = ts.SyntaxKind[node.kind].replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return /^[aeiou]/.test(words) ? `an ${words}` : `a ${words}`;
}

/** True for a variable declared directly in a module-level `const`/`let`/`var` statement. */
export function isModuleLevelVariable(decl: ts.Node): decl is ts.VariableDeclaration {
  return ts.isVariableDeclaration(decl) && ts.isVariableDeclarationList(decl.parent) && ts.isVariableStatement(decl.parent.parent) && ts.isSourceFile(decl.parent.parent.parent);
}

/** True for a `const` declaration (not `let`, `var`, `using`). */
export function isConstDeclaration(decl: ts.VariableDeclaration): boolean {
  const flags = ts.getCombinedNodeFlags(decl);
  return (flags & ts.NodeFlags.BlockScoped) === (ts.NodeFlags.Const as number);
}

/**
 * Finds every rayts `remote(...)` call in a file. Calls that cannot be
 * compiled (no argument, a spread, an expression the compiler cannot move)
 * give an RC1105 diagnostic.
 */
export function findRemoteCalls(checker: ts.TypeChecker, sourceFile: ts.SourceFile): { calls: RemoteCall[]; diagnostics: Diagnostic[] } {
  const calls: RemoteCall[] = [];
  const diagnostics: Diagnostic[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const symbol = calleeSymbol(checker, node.expression);
      if (symbol !== undefined && isRaytsRemote(checker, symbol)) {
        const [first, second] = node.arguments;
        if (first === undefined) {
          diagnostics.push(diagnostic("RC1105", "remote() needs the function or class as its first argument", locationOf(node)));
        } else if (ts.isSpreadElement(first) || (second !== undefined && ts.isSpreadElement(second))) {
          diagnostics.push(diagnostic("RC1305", "remote() receives its arguments through a spread; this call is left uncompiled", locationOf(node)));
        } else {
          const found = targetOf(checker, first);
          // The uncompiled runtime handles what the compiler cannot move (and throws its own TypeError for non-functions).
          if ("error" in found) diagnostics.push(diagnostic("RC1305", `${found.error}; this call is left uncompiled`, locationOf(first)));
          else {
            calls.push({
              call: node,
              sourceFile,
              kind: found.kind,
              target: found.target,
              options: second,
              name: found.name || "anonymous",
              binding: bindingOf(node),
            });
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return { calls, diagnostics };
}

/**
 * Module specifiers in a file that resolve to rayts, and those that name
 * rayts but do not resolve (RC1011: without the package's types, remote
 * calls cannot be recognised).
 */
export function raytsImports(checker: ts.TypeChecker, sourceFile: ts.SourceFile): { specifiers: string[]; diagnostics: Diagnostic[] } {
  const specifiers: string[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const statement of sourceFile.statements) {
    if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))) continue;
    const spec = statement.moduleSpecifier;
    if (spec === undefined || !ts.isStringLiteral(spec)) continue;
    const text = spec.text;
    if (text.startsWith(".") || text.startsWith("/")) continue;
    const moduleFile = checker.getSymbolAtLocation(spec)?.valueDeclaration?.getSourceFile().fileName;
    if (moduleFile !== undefined && isRaytsRuntimeFile(realPath(moduleFile))) {
      specifiers.push(text);
      const clause = ts.isImportDeclaration(statement) ? statement.importClause : undefined;
      if (clause?.name !== undefined && clause.phaseModifier !== ts.SyntaxKind.TypeKeyword) {
        diagnostics.push(diagnostic("RC1013", `\`import ${clause.name.text} from "${text}"\`: rayts has no default export, so \`${clause.name.text}\` would be undefined at run time`, locationOf(clause.name)));
      }
    }
    else if (text === RAYTS_PACKAGE || text.startsWith(`${RAYTS_PACKAGE}/`)) {
      diagnostics.push(diagnostic("RC1011", `cannot resolve "${text}" from this file`, locationOf(spec)));
    }
  }
  return { specifiers, diagnostics };
}

/**
 * The method names an actor handle exposes, as the runtime's `methodNames`
 * finds them on the prototype chain: non-static methods, own and inherited,
 * except `constructor` and `#private` ones.
 */
/**
 * Generator functions among a remote call's target (the function itself) or,
 * for a class, its generator methods: their calls stream their items.
 */
export function generatorParts(checker: ts.TypeChecker, call: RemoteCall): { readonly function: boolean; readonly methods: readonly string[] } {
  const target = call.target;
  let declaration: ts.Node | undefined;
  if (target.kind === "expression") declaration = target.node;
  else {
    const symbol = target.symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(target.symbol) : target.symbol;
    declaration = symbol.valueDeclaration ?? symbol.declarations?.[0];
  }
  if (declaration === undefined) return { function: false, methods: [] };
  if (ts.isFunctionExpression(declaration) || ts.isFunctionDeclaration(declaration)) return { function: declaration.asteriskToken !== undefined, methods: [] };
  if (!ts.isClassLike(declaration)) return { function: false, methods: [] };
  const methods = declaration.members.filter(
    (member): member is ts.MethodDeclaration => ts.isMethodDeclaration(member) && member.asteriskToken !== undefined && ts.isIdentifier(member.name),
  );
  return { function: false, methods: methods.map((member) => (member.name as ts.Identifier).text) };
}

export function actorMethods(checker: ts.TypeChecker, call: RemoteCall): string[] {
  const target = call.target;
  const at = target.kind === "expression" ? target.node : (call.call.arguments[0] ?? call.call);
  const classType = target.kind === "expression" ? checker.getTypeAtLocation(target.node) : checker.getTypeOfSymbolAtLocation(target.symbol, at);
  const names: string[] = [];
  for (const signature of classType.getConstructSignatures().slice(0, 1)) {
    for (const property of checker.getPropertiesOfType(signature.getReturnType())) {
      const name = property.getName();
      if (name === "constructor" || name.startsWith("#") || name.startsWith("__@")) continue;
      const decls = property.declarations ?? [];
      const isMethod = decls.length > 0 && decls.every((d) => (ts.isMethodDeclaration(d) || ts.isMethodSignature(d)) && !(ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Static));
      // Instance fields holding functions (`dec = () => ...`) are methods of the handle too, as its type says.
      const isFunctionField =
        !isMethod && decls.length > 0 && decls.every((d) => ts.isPropertyDeclaration(d) && !(ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Static)) &&
        checker.getTypeOfSymbolAtLocation(property, at).getNonNullableType().getCallSignatures().length > 0;
      if (isMethod || isFunctionField) names.push(name);
    }
  }
  return names;
}
