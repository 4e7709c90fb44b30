/**
 * How big a captured value is. Ray warns when a remote function's pickled
 * closure passes 10 MB and refuses it above 100 MB, because the closure
 * travels through the control store. rayts ships captures as object refs
 * (put once, zero-copy for binary data), so size never breaks a program;
 * it still deserves a warning, given twice:
 * - at compile time, when the const's initializer has a literal size
 *   (`new Float64Array(2_000_000)`, `Buffer.alloc(N)`, `"x".repeat(N)`);
 * - at first call for every other value, by a helper the emitted caller
 *   wraps each capture thunk in ({@link CAPTURE_CHECK_MODULE}).
 */
import ts from "typescript";
import { unwrapExpression } from "./syntax.js";

/** Ray's warning threshold for a function's closure. */
export const LARGE_CAPTURE_BYTES = 10 * 1024 * 1024;
/** Ray's refusal threshold for a function's closure. */
export const HUGE_CAPTURE_BYTES = 100 * 1024 * 1024;

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = {
  Int8Array: 1,
  Uint8Array: 1,
  Uint8ClampedArray: 1,
  Int16Array: 2,
  Uint16Array: 2,
  Float16Array: 2,
  Int32Array: 4,
  Uint32Array: 4,
  Float32Array: 4,
  Float64Array: 8,
  BigInt64Array: 8,
  BigUint64Array: 8,
  ArrayBuffer: 1,
  SharedArrayBuffer: 1,
};

/**
 * Evaluates a numeric expression made of literals, arithmetic and
 * module-level numeric consts (`const N = 1 << 20`), or undefined.
 */
function evaluateNumber(checker: ts.TypeChecker, expr: ts.Expression, depth = 0): number | undefined {
  if (depth > 8) return undefined;
  const node = unwrapExpression(expr);
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.MinusToken) {
    const value = evaluateNumber(checker, node.operand, depth + 1);
    return value === undefined ? undefined : -value;
  }
  if (ts.isBinaryExpression(node)) {
    const left = evaluateNumber(checker, node.left, depth + 1);
    const right = evaluateNumber(checker, node.right, depth + 1);
    if (left === undefined || right === undefined) return undefined;
    switch (node.operatorToken.kind) {
      case ts.SyntaxKind.PlusToken:
        return left + right;
      case ts.SyntaxKind.MinusToken:
        return left - right;
      case ts.SyntaxKind.AsteriskToken:
        return left * right;
      case ts.SyntaxKind.SlashToken:
        return left / right;
      case ts.SyntaxKind.AsteriskAsteriskToken:
        return left ** right;
      case ts.SyntaxKind.LessThanLessThanToken:
        return left * 2 ** right;
      default:
        return undefined;
    }
  }
  if (ts.isIdentifier(node)) {
    const decl = checker.getSymbolAtLocation(node)?.valueDeclaration;
    if (decl !== undefined && ts.isVariableDeclaration(decl) && decl.initializer !== undefined && (ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const) !== 0) {
      return evaluateNumber(checker, decl.initializer, depth + 1);
    }
  }
  return undefined;
}

/** The name of a called or constructed global: `Float64Array`, `Buffer.alloc`, `Array.from`. */
function calleeName(expr: ts.Expression): string | undefined {
  const node = unwrapExpression(expr);
  if (ts.isIdentifier(node)) return node.text;
  if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) return `${node.expression.text}.${node.name.text}`;
  return undefined;
}

/** The `length` of `{ length: N }`. */
function lengthProperty(checker: ts.TypeChecker, expr: ts.Expression | undefined): number | undefined {
  if (expr === undefined) return undefined;
  const node = unwrapExpression(expr);
  if (!ts.isObjectLiteralExpression(node)) return undefined;
  for (const property of node.properties) {
    if (ts.isPropertyAssignment(property) && ts.isIdentifier(property.name) && property.name.text === "length") {
      return evaluateNumber(checker, property.initializer);
    }
  }
  return undefined;
}

/**
 * A lower bound on the size in bytes of the value an initializer builds,
 * when it can be read from the source; undefined otherwise. Elements of
 * plain arrays count 8 bytes (one double).
 */
export function estimateInitializerBytes(checker: ts.TypeChecker, initializer: ts.Expression, depth = 0): number | undefined {
  if (depth > 4) return undefined;
  const node = unwrapExpression(initializer);
  if (ts.isNewExpression(node) || ts.isCallExpression(node)) {
    const name = calleeName(node.expression);
    const [first] = node.arguments ?? [];
    if (name !== undefined && first !== undefined) {
      const perElement = BYTES_PER_ELEMENT[name];
      if (perElement !== undefined) {
        const count = evaluateNumber(checker, first);
        if (count !== undefined) return count * perElement;
        if (ts.isArrayLiteralExpression(unwrapExpression(first))) return (unwrapExpression(first) as ts.ArrayLiteralExpression).elements.length * perElement;
        return undefined;
      }
      if (name === "Buffer.alloc" || name === "Buffer.allocUnsafe" || name === "Buffer.allocUnsafeSlow") return evaluateNumber(checker, first);
      if (name === "Array") {
        const count = evaluateNumber(checker, first);
        return count === undefined ? undefined : count * 8;
      }
      if (name === "Array.from" || name.endsWith("Array.from")) {
        const length = lengthProperty(checker, first);
        const element = BYTES_PER_ELEMENT[name.slice(0, -".from".length)] ?? 8;
        return length === undefined ? undefined : length * element;
      }
    }
    // `x.fill(v)`, `x.map(f)` keep the size of `x`; `"ab".repeat(N)` multiplies it.
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      const receiver = node.expression.expression;
      if (method === "repeat" && first !== undefined) {
        const times = evaluateNumber(checker, first);
        const inner = unwrapExpression(receiver);
        if (times !== undefined && ts.isStringLiteralLike(inner)) return Buffer.byteLength(inner.text) * times;
        return undefined;
      }
      if (method === "fill" || method === "map") return estimateInitializerBytes(checker, receiver, depth + 1);
    }
    return undefined;
  }
  if (ts.isStringLiteralLike(node)) return Buffer.byteLength(node.text);
  if (ts.isArrayLiteralExpression(node)) return node.elements.length * 8;
  return undefined;
}

/** Human-readable bytes: 512 B, 33.6 KB, 16.0 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(1)} GB`;
}

/** Where the emitted helper lives, relative to outDir. */
export const CAPTURE_CHECK_MODULE = "__rayts__/capture-check.js";
/** The helper's export the emitted callers import. */
export const CAPTURE_CHECK_EXPORT = "checkCapture";

/**
 * Source of the helper module emitted into outDir: measures a captured value
 * when it is first put and warns on stderr above Ray's thresholds. Binary
 * values are measured by byteLength; others by their structured-clone size.
 */
export const CAPTURE_CHECK_SOURCE = `// Generated by raycompile: size check for values captured by remote functions.
import { serialize } from "node:v8";

const LARGE = ${LARGE_CAPTURE_BYTES};
const HUGE = ${HUGE_CAPTURE_BYTES};

function sizeOf(value) {
  if (typeof value === "string") return Buffer.byteLength(value);
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer)) return value.byteLength;
  if (typeof value !== "object" || value === null) return 0;
  if (typeof value.byteLength === "number") return value.byteLength;
  try {
    return serialize(value).byteLength;
  } catch {
    return 0;
  }
}

function megabytes(bytes) {
  return (bytes / 1024 / 1024).toFixed(1) + " MB";
}

const warned = new Set();

/** Returns the value unchanged; warns once per const (where is its declaration) when it is large. */
export function ${CAPTURE_CHECK_EXPORT}(value, capture, task, where) {
  if (warned.has(where)) return value;
  warned.add(where);
  const bytes = sizeOf(value);
  if (bytes > HUGE) {
    console.warn(\`raycompile: \${where}: \${task} captures \\\`\${capture}\\\` of \${megabytes(bytes)}, above Ray's 100 MB limit for a function. rayts puts it once in the object store and passes it by ref, but consider loading it inside the task.\`);
  } else if (bytes > LARGE) {
    console.warn(\`raycompile: \${where}: \${task} captures \\\`\${capture}\\\` of \${megabytes(bytes)} (above 10 MB); it is put once in the object store and passed by ref.\`);
  }
  return value;
}
`;
