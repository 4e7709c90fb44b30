/**
 * Finds the instance fields of a class that hold functions
 * (`inc = () => ...`, `load = async (x) => ...`, `f = function () {}`), from
 * the class's source text. They exist only on instances, so the prototype
 * does not show them, yet TypeScript types them as methods: an actor handle
 * must offer them too.
 */

/**
 * The class body with everything nested inside it cut out: strings,
 * comments and the insides of brackets are dropped, the brackets kept, so
 * `a = (x) => { ... }; b = "s"` reads `a = () => {}; b = ""`.
 */
function topLevel(source: string): string {
  const open = source.indexOf("{", classHeaderEnd(source));
  if (open < 0) return "";
  let out = "";
  let depth = 0;
  for (let index = open + 1; index < source.length; index++) {
    const char = source[index] as string;
    const next = source[index + 1];
    if (char === "/" && next === "/") {
      const end = source.indexOf("\n", index);
      index = end < 0 ? source.length : end;
      out += depth === 0 ? "\n" : "";
      continue;
    }
    if (char === "/" && next === "*") {
      const end = source.indexOf("*/", index + 2);
      index = end < 0 ? source.length : end + 1;
      continue;
    }
    if (char === '"' || char === "'" || char === "`") {
      index = skipString(source, index);
      if (depth === 0) out += '""';
      continue;
    }
    if (char === "{" || char === "(" || char === "[") {
      if (depth === 0) out += char;
      depth++;
      continue;
    }
    if (char === "}" || char === ")" || char === "]") {
      if (depth === 0) break; // the end of the class body
      depth--;
      if (depth === 0) out += char;
      continue;
    }
    if (depth === 0) out += char;
  }
  return out;
}

/** Where the class header ends: after `class Name extends Base`, whose base may hold brackets. */
function classHeaderEnd(source: string): number {
  const match = /^\s*class\b[^{(]*/.exec(source);
  return match === null ? 0 : match[0].length;
}

function skipString(source: string, start: number): number {
  const quote = source[start];
  for (let index = start + 1; index < source.length; index++) {
    const char = source[index];
    if (char === "\\") index++;
    else if (char === quote) return index;
  }
  return source.length;
}

/** `name = <function>`; `__name()` is how esbuild-based loaders (tsx) wrap a function to keep its name. */
const FUNCTION_FIELD =
  /(?:^|[;}\s])(static\s+)?(#?[A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?(?:\(\)\s*=>|[A-Za-z_$][\w$]*\s*=>|function\b|__name\(\))/g;

/** Names of the public instance fields whose initializer is a function, in order. */
export function functionFields(classSource: string): string[] {
  const names: string[] = [];
  for (const match of topLevel(classSource).matchAll(FUNCTION_FIELD)) {
    const [, isStatic, name] = match;
    if (isStatic === undefined && name !== undefined && !name.startsWith("#") && !names.includes(name)) names.push(name);
  }
  return names;
}
