/**
 * Finds the instance members of a class that hold functions, from the
 * class's source text: fields (`inc = () => ...`, `load = async (x) => ...`,
 * `f = function () {}`) and assignments in its code (`this.f = () => ...`).
 * They exist only on instances, so the prototype does not show them, yet
 * TypeScript types them as methods: an actor handle must offer them too.
 */

/**
 * The class body without strings and comments (`all`), and the same with
 * the insides of brackets dropped too, the brackets kept (`top`), so
 * `a = (x) => { ... }; b = "s"` reads `a = () => {}; b = ""`.
 */
function scan(source: string): { top: string; all: string } {
  const open = source.indexOf("{", classHeaderEnd(source));
  if (open < 0) return { top: "", all: "" };
  let out = "";
  let all = "";
  let depth = 0;
  for (let index = open + 1; index < source.length; index++) {
    const char = source[index] as string;
    const next = source[index + 1];
    if (char === "/" && next === "/") {
      const end = source.indexOf("\n", index);
      index = end < 0 ? source.length : end;
      out += depth === 0 ? "\n" : "";
      all += "\n";
      continue;
    }
    if (char === "/" && next === "*") {
      const end = source.indexOf("*/", index + 2);
      index = end < 0 ? source.length : end + 1;
      all += " ";
      continue;
    }
    if (char === '"' || char === "'" || char === "`") {
      index = skipString(source, index);
      if (depth === 0) out += '""';
      all += '""';
      continue;
    }
    all += char;
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
  return { top: out, all };
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

/** `this.name = <function>` anywhere in the class's code. */
const FUNCTION_ASSIGNMENT =
  /\bthis\.([A-Za-z_$][\w$]*)\s*=\s*(?:async\s*)?(?:\([^()]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>|function\b|__name\()/g;

/** Names of the public instance members that are given a function: fields first, then assignments, in order. */
export function functionFields(classSource: string): string[] {
  const names: string[] = [];
  if (!/^\s*class\b/.test(classSource)) return names; // a base written as a function, or native code
  const { top, all } = scan(classSource);
  for (const match of top.matchAll(FUNCTION_FIELD)) {
    const [, isStatic, name] = match;
    if (isStatic === undefined && name !== undefined && !name.startsWith("#") && !names.includes(name)) names.push(name);
  }
  for (const [, name] of all.matchAll(FUNCTION_ASSIGNMENT)) if (name !== undefined && !names.includes(name)) names.push(name);
  return names;
}
