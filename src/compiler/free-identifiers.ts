/**
 * Free-identifier analysis: the names a piece of code reads from outside
 * itself. Scoping is the type checker's (parameters, locals, destructuring,
 * shadowing, hoisting are all resolved by symbol), so a name is free exactly
 * when its declaration lies outside the analysed node. Type positions
 * (annotations, `implements`, `typeof` in types, interfaces) are skipped:
 * they vanish from the emitted JavaScript.
 */
import ts from "typescript";
import { contains } from "./syntax.js";

/**
 * One thing the code reads from outside:
 * - `symbol`: a name the checker resolves to a declaration outside the node;
 * - `unresolved`: a name with no declaration (a runtime global unknown to the
 *   checker's libs, or a typo: left for the runtime to report);
 * - `this` / `arguments`: the enclosing scope's, captured by an arrow.
 */
export type FreeReference =
  | { readonly kind: "symbol"; readonly name: string; readonly symbol: ts.Symbol; readonly node: ts.Node }
  | { readonly kind: "unresolved"; readonly name: string; readonly node: ts.Node }
  | { readonly kind: "this"; readonly node: ts.Node }
  | { readonly kind: "arguments"; readonly node: ts.Node };

/** Symbol kinds that exist at run time. Properties, methods, types and type parameters are not captures. */
const VALUE_FLAGS =
  ts.SymbolFlags.Variable | ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Enum | ts.SymbolFlags.ValueModule | ts.SymbolFlags.Alias;

/** Nodes that give `this` (and, except classes, `arguments`) a meaning of their own. */
function bindsThis(node: ts.Node): boolean {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isPropertyDeclaration(node) ||
    ts.isClassStaticBlockDeclaration(node)
  );
}

function bindsArguments(node: ts.Node): boolean {
  return bindsThis(node) && !ts.isPropertyDeclaration(node) && !ts.isClassStaticBlockDeclaration(node);
}

/** True when some node from `node` up to `root` (inclusive) satisfies `test`. */
function enclosedWithin(node: ts.Node, root: ts.Node, test: (n: ts.Node) => boolean): boolean {
  for (let current: ts.Node | undefined = node.parent; current !== undefined; current = current.parent as ts.Node | undefined) { // a SourceFile has no parent
    if (test(current)) return true;
    if (current === root) return false;
  }
  return false;
}

/** Identifiers that name a property or label rather than read a variable. */
function isNonReferenceName(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent)) return parent.name === node;
  if (ts.isQualifiedName(parent)) return parent.right === node;
  if (
    ts.isPropertyAssignment(parent) ||
    ts.isMethodDeclaration(parent) ||
    ts.isPropertyDeclaration(parent) ||
    ts.isGetAccessorDeclaration(parent) ||
    ts.isSetAccessorDeclaration(parent) ||
    ts.isEnumMember(parent) ||
    ts.isPropertySignature(parent) ||
    ts.isMethodSignature(parent) ||
    ts.isJsxAttribute(parent)
  ) {
    return parent.name === node;
  }
  if (ts.isBindingElement(parent)) return parent.propertyName === node;
  if (ts.isLabeledStatement(parent) || ts.isBreakStatement(parent) || ts.isContinueStatement(parent)) return parent.label === node;
  if (ts.isMetaProperty(parent)) return true;
  return false;
}

/** The value symbol an identifier reads (for `{ A }` shorthand, the variable `A`, not the property). */
function referencedSymbol(checker: ts.TypeChecker, node: ts.Identifier): ts.Symbol | undefined {
  if (ts.isShorthandPropertyAssignment(node.parent) && node.parent.name === node) {
    return checker.getShorthandAssignmentValueSymbol(node.parent);
  }
  return checker.getSymbolAtLocation(node);
}

/**
 * The free references of `root`, each symbol once, in source order. `root`
 * is a remote function or class, or a declaration copied into a task module.
 */
export function freeReferences(checker: ts.TypeChecker, root: ts.Node): FreeReference[] {
  const found: FreeReference[] = [];
  const seen = new Set<ts.Symbol | string>();
  const add = (ref: FreeReference, key: ts.Symbol | string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    found.push(ref);
  };

  const visitIdentifier = (node: ts.Identifier): void => {
    if (isNonReferenceName(node)) return;
    const symbol = referencedSymbol(checker, node);
    if (node.text === "arguments" && (symbol === undefined || symbol.declarations === undefined || symbol.declarations.length === 0)) {
      if (!enclosedWithin(node, root, bindsArguments) && !bindsArguments(root)) add({ kind: "arguments", node }, "arguments");
      return;
    }
    if (symbol === undefined) {
      add({ kind: "unresolved", name: node.text, node }, `?${node.text}`);
      return;
    }
    const declarations = symbol.declarations ?? [];
    if (declarations.length === 0 || declarations.some((decl) => contains(root, decl))) return;
    if ((symbol.flags & VALUE_FLAGS) === 0) return;
    add({ kind: "symbol", name: node.text, symbol, node }, symbol);
  };

  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      visitIdentifier(node);
      return;
    }
    if (node.kind === ts.SyntaxKind.ThisKeyword) {
      if (!bindsThis(root) && !ts.isClassLike(root) && !enclosedWithin(node, root, (n) => bindsThis(n) || ts.isClassLike(n))) {
        add({ kind: "this", node }, "this");
      }
      return;
    }
    // Types vanish at run time. `class A extends B<T>` still reads `B`.
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;
    if (ts.isHeritageClause(node)) {
      if (node.token === ts.SyntaxKind.ImplementsKeyword) return;
      for (const type of node.types) visit(type.expression);
      return;
    }
    // `f<T>` (an instantiation expression) still reads `f`.
    if (ts.isExpressionWithTypeArguments(node)) {
      visit(node.expression);
      return;
    }
    if (ts.isTypeNode(node)) return;
    if (ts.isImportTypeNode(node)) return;
    ts.forEachChild(node, visit);
  };

  visit(root);
  return found;
}
