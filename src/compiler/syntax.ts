/**
 * Small syntax helpers shared by the analysis passes.
 */
import ts from "typescript";
import type { DiagnosticLocation } from "./diagnostics.js";

/** Strips parentheses, `as`, `satisfies`, `!`, type assertions and type arguments: `((f as F))` and `Box<string>` are `f` and `Box`. */
export function unwrapExpression(node: ts.Expression): ts.Expression {
  let current = node;
  for (;;) {
    if (
      ts.isParenthesizedExpression(current) ||
      ts.isAsExpression(current) ||
      ts.isSatisfiesExpression(current) ||
      ts.isNonNullExpression(current) ||
      ts.isTypeAssertionExpression(current) ||
      ts.isExpressionWithTypeArguments(current)
    ) {
      current = current.expression;
    } else {
      return current;
    }
  }
}

/** The 1-based file, line and column where a node starts (after its leading trivia). */
export function locationOf(node: ts.Node): DiagnosticLocation {
  const sourceFile = node.getSourceFile();
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
  return { file: sourceFile.fileName, line: line + 1, column: character + 1 };
}

/** True when `inner` lies within `outer` in the same file. */
export function contains(outer: ts.Node, inner: ts.Node): boolean {
  return outer.getSourceFile() === inner.getSourceFile() && inner.pos >= outer.pos && inner.end <= outer.end;
}
