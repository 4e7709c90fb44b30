/**
 * Scoping in the free-identifier analysis, on in-memory snippets: the
 * analysed node is the initializer of `const f = ...`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freeReferences } from "../../src/compiler/free-identifiers.js";
import { initializerOf, snippet } from "./snippets.js";

/** Free references of `f` in a module holding `source`; names declared by the standard library show as `lib:Name`. */
function freeNames(source: string): string[] {
  const { file, checker } = snippet(`${source}\nexport {};`);
  const init = initializerOf(file, "f");
  return freeReferences(checker, init).map((ref) => {
    if (ref.kind === "symbol") {
      const inLib = (ref.symbol.declarations ?? []).every((decl) => decl.getSourceFile() !== file);
      return `${inLib ? "lib" : "symbol"}:${ref.name}`;
    }
    return ref.kind === "unresolved" ? `unresolved:${ref.name}` : ref.kind;
  });
}

describe("free identifiers", () => {
  it("ignores parameters, locals, destructuring and default values", () => {
    const names = freeNames(`
      const A = 1, B = 2;
      const f = ({ a, b: [c] }: { a: number; b: number[] }, d = a + 1, ...rest: number[]) => {
        const { e, ...others } = { e: 1, g: 2 };
        let [h = c] = rest;
        for (const i of rest) h += i;
        try { h++; } catch (err) { h += String(err).length; }
        return a + c + d + e + h + Object.keys(others).length + A;
      };`);
    assert.deepEqual(names, ["lib:String", "lib:Object", "symbol:A"]);
  });

  it("resolves shadowing by scope, not by name", () => {
    const names = freeNames(`
      let x = 1;
      const y = 2;
      const f = (n: number) => {
        { const y = 3; n += y; }
        const x = n;
        return x + y;
      };`);
    assert.deepEqual(names, ["symbol:y"]);
  });

  it("sees hoisted function declarations and class names inside the node as local", () => {
    const names = freeNames(`
      const f = function outer(n: number): number {
        return inner(n) + (n > 0 ? outer(n - 1) : 0) + new Local().v;
        function inner(m: number) { return m; }
        class Local { v = 1; }
      };`);
    assert.deepEqual(names, []);
  });

  it("skips type positions: annotations, interfaces, implements, typeof in types", () => {
    const names = freeNames(`
      interface Shape { w: number }
      class Base {}
      interface Named { name: string }
      let config = { w: 1 };
      const f = (s: Shape, t: typeof config): Base | undefined => {
        interface Local extends Named { extra: Base }
        type Alias = Shape;
        const v = s as Alias satisfies Shape;
        class Impl implements Named { name = "x" }
        return v.w + t.w > 0 ? undefined : undefined;
      };`);
    assert.deepEqual(names, []);
  });

  it("keeps value uses of classes: extends, new, instanceof, shorthand properties", () => {
    const names = freeNames(`
      class Base {}
      class Other {}
      const K = 1;
      const f = (v: unknown) => {
        class Derived extends Base {}
        return { K, derived: new Derived(), isOther: v instanceof Other };
      };`);
    assert.deepEqual(names, ["symbol:Base", "symbol:K", "symbol:Other"]);
  });

  it("does not count property names, object keys, labels or members", () => {
    const names = freeNames(`
      const key = "k";
      const obj = { key: 1, value: 2 };
      const f = () => {
        const o = { key: 1, value() { return 2; }, [key]: 3 };
        outer: for (;;) { break outer; }
        return o.key + obj.value;
      };`);
    assert.deepEqual(names, ["symbol:key", "symbol:obj"]);
  });

  it("reports lexical this and arguments of arrows, but not those of functions and classes", () => {
    assert.deepEqual(freeNames("const f = () => this;"), ["this"]);
    assert.deepEqual(freeNames("function g() { return () => arguments; } const f = () => arguments;"), ["arguments"]);
    assert.deepEqual(freeNames("const f = function () { return [this, arguments.length, () => this]; };"), []);
    assert.deepEqual(freeNames("const f = class { n = 1; get() { return this.n; } static s = this; };"), []);
  });

  it("lists names the checker does not know as unresolved (left to the runtime)", () => {
    assert.deepEqual(freeNames("const f = () => undeclaredThing + Math.PI;"), ["unresolved:undeclaredThing", "lib:Math"]);
  });
});
