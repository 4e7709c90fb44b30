/**
 * Explains a `ReferenceError` in a function shipped as source text: which
 * names the function uses that do not exist in the worker, and how to fix
 * each. The first failure of a function on a worker lists every such name
 * (read from the source); later ones carry a short reference to it.
 *
 * The scan is a tokenizer, not a parser: it may miss a name (one written only
 * in a template literal, say), but it reports only names the worker really
 * lacks, because each candidate is checked against the worker's globals.
 */

const KEYWORDS = new Set(
  (
    "async await break case catch class const continue debugger default delete do else export extends false finally for " +
    "function if import in instanceof let new null of return static super switch this throw true try typeof var void " +
    "while with yield get set arguments undefined NaN Infinity"
  ).split(" "),
);

/** Source without comments, string and template literal contents (each replaced by a space). */
function stripLiterals(source: string): string {
  return source.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`(?:\\.|[^`\\])*`/g, " ");
}

const MODIFIERS = new Set(["static", "readonly", "declare", "accessor", "public", "private", "protected", "override", "async"]);

/** The fields a class body declares (`x = 1;`, `#y = 2`, `static z;`): members at the body's top level followed by `=`, `;` or the end of a line. */
function classFields(code: string, declared: Set<string>): void {
  for (const match of code.matchAll(/\bclass\b[^{]*\{/g)) {
    let depth = 1;
    let memberStart = true;
    for (let at = match.index + match[0].length; at < code.length && depth > 0; at++) {
      const char = code[at] as string;
      if (char === "{") depth++;
      else if (char === "}") {
        depth--;
        if (depth === 1) memberStart = true;
      } else if (depth === 1 && (char === ";" || char === "\n")) memberStart = true;
      else if (depth === 1 && memberStart && /[A-Za-z_$#]/.test(char)) {
        const member = /^#?([A-Za-z_$][\w$]*)\s*(=(?![=>])|;|\n|\})?/.exec(code.slice(at));
        const name = member?.[1] ?? "";
        if (MODIFIERS.has(name) && member?.[2] === undefined) {
          at += name.length - 1; // a modifier: the member's name follows
          continue;
        }
        if (member?.[2] !== undefined) declared.add(name);
        memberStart = false;
        at += (member?.[0].length ?? 1) - 1;
        if (member?.[2] === ";" || member?.[2] === "\n") memberStart = true;
        if (member?.[2] === "}") depth--;
      }
    }
  }
}

/**
 * The bindings of every `let`/`const`/`var` list: each declarator's target
 * (a name or a destructuring pattern) up to its `=`, across commas at the
 * list's own level, also when esbuild packs them (`const[a,b]=x,c=y`). An
 * initializer's names are not bindings.
 */
function declarations(code: string, addAll: (text: string) => void): void {
  for (const match of code.matchAll(/\b(?:let|const|var)(?![\w$])/g)) {
    let start = match.index + match[0].length;
    let binding = true;
    let depth = 0;
    let at = start;
    for (; at < code.length; at++) {
      const char = code[at] as string;
      if (char === "(" || char === "[" || char === "{") depth++;
      else if (char === ")" || char === "]" || char === "}") {
        if (depth === 0) break;
        depth--;
      } else if (depth > 0) continue;
      else if (char === ";") break;
      else if (char === "=" && code[at + 1] !== "=" && code[at + 1] !== ">" && binding) {
        addAll(code.slice(start, at));
        binding = false;
      } else if (char === ",") {
        if (binding) addAll(code.slice(start, at));
        binding = true;
        start = at + 1;
      } else if (binding && /^(?:of|in)(?![\w$])/.test(code.slice(at, at + 3)) && !/[\w$]/.test(code[at - 1] ?? "")) {
        break; // for (const x of ...) / for (const k in ...)
      }
    }
    if (binding) addAll(code.slice(start, at));
  }
}

/** Identifiers the source declares: variables, functions, classes, parameters, catch bindings, method names. */
function declaredNames(code: string): Set<string> {
  const declared = new Set<string>();
  const addAll = (text: string): void => {
    for (const match of text.matchAll(/[A-Za-z_$][\w$]*/g)) declared.add(match[0]);
  };
  declarations(code, addAll);
  for (const match of code.matchAll(/\b(?:function\*?|class)\s*([A-Za-z_$][\w$]*)/g)) declared.add(match[1] ?? "");
  // Parameter lists: function (...), catch (...), (...) =>, x =>, and method shorthand name(...) {.
  for (const match of code.matchAll(/(?:\bfunction\*?\s*[\w$]*\s*|\bcatch\s*)\(([^()]*(?:\([^()]*\)[^()]*)*)\)/g)) addAll(match[1] ?? "");
  for (const match of code.matchAll(/\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*=>/g)) addAll(match[1] ?? "");
  for (const match of code.matchAll(/([A-Za-z_$][\w$]*)\s*=>/g)) declared.add(match[1] ?? "");
  for (const match of code.matchAll(/([A-Za-z_$][\w$]*)\s*\(([^()]*)\)\s*\{/g)) {
    declared.add(match[1] ?? "");
    addAll(match[2] ?? "");
  }
  classFields(code, declared);
  return declared;
}

/**
 * Names `source` reads that exist neither in the function itself, nor among
 * `scope` (the names rayts provides), nor on the worker's `globalThis`.
 * `known` (the name in the error) always comes first.
 */
export function missingNames(source: string, scope: readonly string[], known: string): string[] {
  const code = stripLiterals(source);
  const declared = declaredNames(code);
  const found = new Set<string>([known]);
  for (const match of code.matchAll(/[A-Za-z_$][\w$]*/g)) {
    const name = match[0];
    const before = code.slice(Math.max(0, match.index - 3), match.index).trimEnd();
    const after = code.slice(match.index + name.length).trimStart();
    if (before.endsWith(".") || /^\d/.test(name)) continue; // a property access, or part of a number
    if (after.startsWith(":") && /[{,]$/.test(before)) continue; // an object literal key
    if (KEYWORDS.has(name) || declared.has(name) || scope.includes(name) || name in globalThis) continue;
    found.add(name);
  }
  return [...found];
}

/**
 * Names the source uses only as a namespace of rayts (`rt.get(...)`,
 * `rt.remote(...)` after `import * as rt from "rayts"`) and that exist
 * nowhere else: the worker binds each to the rayts API, as it binds `ray`.
 */
export function namespaceAliases(source: string, scope: readonly string[], exported: readonly string[]): string[] {
  const code = stripLiterals(source);
  const declared = declaredNames(code);
  const aliases: string[] = [];
  for (const match of code.matchAll(/(?<![\w$.])([A-Za-z_$][\w$]*)\s*\.\s*([A-Za-z_$][\w$]*)/g)) {
    const name = match[1] as string;
    if (aliases.includes(name) || KEYWORDS.has(name) || declared.has(name) || scope.includes(name) || name in globalThis) continue;
    const uses = [...code.matchAll(new RegExp(`(?<![\\w$.])${name.replace(/\$/g, "\\$")}(?![\\w$])(\\s*\\.\\s*([A-Za-z_$][\\w$]*))?`, "g"))];
    if (uses.every((use) => use[2] !== undefined && exported.includes(use[2]))) aliases.push(name);
  }
  return aliases;
}

/** `name` as a regular expression source, matched only as a whole identifier not after a dot. */
function identifier(name: string): string {
  return `(?<![\\w$.])${name.replace(/\$/g, "\\$")}(?![\\w$])`;
}

/**
 * True when every use of `name` in the source is `name.remote(...)`. Such a
 * name is either a namespace alias of rayts (`rt.remote(fn)`) or a remote
 * function or actor class the task's module made (`double.remote(x)`); only
 * the argument tells them apart, when the call runs.
 */
export function usedOnlyAsRemote(source: string, name: string): boolean {
  const uses = [...stripLiterals(source).matchAll(new RegExp(`${identifier(name)}(\\s*\\.\\s*remote\\s*\\()?`, "g"))];
  return uses.length > 0 && uses.every((use) => use[1] !== undefined);
}

/** True when the source uses `name.remote(...)` or `name.options(...)`: then it is a remote function or actor class. */
function isRemote(source: string, name: string): boolean {
  return new RegExp(`${identifier(name)}\\s*\\.\\s*(?:remote|options)\\s*\\(`).test(stripLiterals(source));
}

/** True when the source calls `name(...)`, constructs `new name(...)` or passes it to `remote(...)`: then it is a function or class. */
function isCalled(source: string, name: string): boolean {
  const code = stripLiterals(source);
  return new RegExp(`${identifier(name)}\\s*\\(`).test(code) || new RegExp(`\\bremote\\s*\\(\\s*${identifier(name)}\\s*[,)]`).test(code);
}

/** The fix for one missing name: values and remote functions can travel as arguments, plain functions cannot. */
function fixFor(source: string, name: string): string {
  if (isRemote(source, name)) {
    return `${name} (a remote function or actor class made outside the task, so not available inside it: pass it to the task as an argument, or make it inside the task)`;
  }
  if (isCalled(source, name)) {
    return `${name} (a function or class: it cannot be passed as an argument or put(); define it inside the task, or make it a remote function and pass that)`;
  }
  return `${name} (pass it as an argument, or put() it and pass the ObjectRef)`;
}

/** The full explanation, given at a function's first failure on a worker. */
export function explainMissing(fnName: string, source: string, scope: readonly string[], known: string): string {
  const names = missingNames(source, scope, known);
  const list = names.map((name) => `  - ${fixFor(source, name)}`).join("\n");
  return (
    `${known} is not defined in the worker: remote function ${fnName} was shipped as source text, so it sees only its ` +
    `parameters, globals such as Math, and the rayts API (ray, get, put, wait, remote, cancel, kill, getActor). ` +
    `${names.length === 1 ? "This name is" : "These names are"} missing there:\n${list}\n` +
    "Or compile the program with raycompile, which ships imports, module-level functions and constants for you."
  );
}

/** The short form for later failures of the same function on the same worker. */
export function referToFirst(fnName: string, known: string): string {
  return `${known} is not defined in the worker (remote function ${fnName} is self-contained source text; the first failure of ${fnName} explained the fix)`;
}
