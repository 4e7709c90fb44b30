/**
 * The names an uncompiled actor class lacks in the worker: its own fields
 * (public, private, static) are declared by the class, not missing, so the
 * error lists only what really is (a module constant here).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { explainMissing, missingNames } from "../../src/core/runtime/missing-names.js";

const SPACED = `class ParameterServer {
  weights = new Float64Array(DIM);
  lr = 0.1;
  #steps = 0;
  static created = 0;
  name;
  constructor() { this.name = "ps"; }
  applyGradients(...grads) {
    for (const g of grads) for (let i = 0; i < DIM; i++) this.weights[i] -= this.lr * g[i];
    this.#steps++;
    return this.weights;
  }
}`;
// The same class as esbuild (tsx) prints it.
const PACKED = `class ParameterServer{weights=new Float64Array(DIM);lr=.1;#steps=0;static created=0;applyGradients(...grads){for(const g of grads)for(let i=0;i<DIM;i++)this.weights[i]-=this.lr*g[i];this.#steps++;return this.weights}}`;

test("an actor class's own fields are not reported as missing names, a module constant it reads is", () => {
  for (const source of [SPACED, PACKED]) {
    assert.deepEqual(missingNames(source, ["ray"], "DIM"), ["DIM"], source);
    assert.match(explainMissing("ParameterServer", source, ["ray"], "DIM"), /This name is missing there:\n {2}- DIM \(pass it as an argument/);
  }
});

test("a name assigned inside a method but declared nowhere is still reported", () => {
  const source = `class Counter { n = 0; bump() { total = this.n + offset; } }`;
  assert.deepEqual(missingNames(source, [], "offset").sort(), ["offset", "total"]);
});

test("destructured and comma-separated locals are declared, also as esbuild (tsx) packs them", () => {
  const spaced = `async (n) => {
  const refs = Array.from({ length: n }, (_, i) => leaf.remote(i));
  let done = 0, rest = refs;
  while (rest.length) { const [r, nr] = await ray.wait(rest, { numReturns: 1 }); done += r.length; rest = nr; }
  for (const { id, size } of refs) done += id + size;
  for (const [key, value] of Object.entries({})) done += key.length + value;
  var first = 1, second, third = first;
  return done + first + second + third;
}`;
  const packed = `async n=>{const refs=Array.from({length:n},(_,i)=>leaf.remote(i));let done=0,rest=refs;while(rest.length){const[r,nr]=await ray.wait(rest,{numReturns:1});done+=r.length;rest=nr}for(const{id,size}of refs)done+=id+size;for(const[key,value]of Object.entries({}))done+=key.length+value;var first=1,second,third=first;return done+first+second+third}`;
  for (const source of [spaced, packed]) assert.deepEqual(missingNames(source, ["ray"], "leaf"), ["leaf"], source);
});

test("an initializer's names are not mistaken for declared ones", () => {
  assert.deepEqual(missingNames("(a) => { const x = OFFSET, y = SCALE * a; return x + y; }", [], "OFFSET"), ["OFFSET", "SCALE"]);
  assert.deepEqual(missingNames("(a)=>{const x=OFFSET,y=SCALE*a;return x+y}", [], "OFFSET"), ["OFFSET", "SCALE"]);
});
