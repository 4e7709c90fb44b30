/**
 * Actor handles as a TypeScript user meets them: arrow-function fields and
 * functions assigned to `this` are methods, a method may be called
 * `actorId`, a call of a method the instance lacks is refused with its name
 * and the class's, `getActor` is typed by the class given to it, and `kill`
 * refuses what is not a handle.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as ray from "../src/index.js";
import { functionFields } from "../src/core/codec/class-fields.js";

before(async () => {
  await ray.init({ numCpus: 2 });
});

after(async () => {
  await ray.shutdown();
});

class Tally {
  n = 0;
  static make = () => new Tally();
  add = (by: number): number => (this.n += by);
  load = async (): Promise<number> => this.n;
  twice = function (this: Tally, x: number): number {
    return 2 * x;
  };
  read(): number {
    return this.n;
  }
}
const TallyActor = ray.remote(Tally);

test("arrow-function fields are methods of the handle", async () => {
  const tally = TallyActor.remote();
  assert.equal(await ray.get(tally.add.remote(2)), 2);
  assert.equal(await ray.get(tally.add.remote(3)), 5);
  assert.equal(await ray.get(tally.load.remote()), 5);
  assert.equal(await ray.get(tally.twice.remote(4)), 8);
  assert.equal(await ray.get(tally.read.remote()), 5);
  assert.deepEqual([...TallyActor.methods].sort(), ["add", "load", "read", "twice"]);
  ray.kill(tally);
});

test("function fields are found in class source, not in strings, comments, bodies or statics", () => {
  const source = `class X extends Base {
    a = () => 1; // b = () => 2
    s = "c = () => {"; /* d = () => 3 */
    static e = () => 4;
    #f = () => 5;
    g = async (x) => { const h = () => 6; return h; };
    i = x => x
    j = function () {}
    k = 7;
    m() { const n = () => 8; }
  }`;
  assert.deepEqual(functionFields(source), ["a", "g", "i", "j"]);
  assert.deepEqual(functionFields("class A { constructor() { this.f = (x) => x; this.g = 1; this.h = async function () {}; } }"), ["f", "h"]);
  // A base class written as a function (Node's EventEmitter, say) is not read as a class body.
  assert.deepEqual(functionFields("function Base() { this.f = () => 1; }"), []);
  // As esbuild-based loaders emit it.
  assert.deepEqual(functionFields('class T{static{__name(this,"T")}n=0;static make=__name(()=>new T,"make");add=__name(by=>this.n+=by,"add");read(){return this.n}}'), ["add"]);
});

test("a method named actorId or actorName is reachable; kill still works", async () => {
  const Named = ray.remote(
    class Named {
      actorId(): string {
        return "mine";
      }
      actorName(): string {
        return "also mine";
      }
    },
  );
  const handle = Named.remote();
  assert.equal(await ray.get(handle.actorId.remote()), "mine");
  assert.equal(await ray.get(handle.actorName.remote()), "also mine");
  const pending = handle.actorId.remote();
  await ray.get(pending);
  ray.kill(handle);
  await assert.rejects(ray.get(handle.actorId.remote()), ray.ActorDiedError);
});

test("functions assigned to this in the constructor are methods of the handle too", async () => {
  const Assigned = ray.remote(
    class Assigned {
      greet: (name: string) => string;
      later: (() => string) | undefined;
      constructor(greeting: string) {
        this.greet = (name) => `${greeting}, ${name}`;
      }
      arm(): void {
        this.later = function () {
          return "armed";
        };
      }
    },
  );
  const handle = Assigned.remote("hello");
  assert.equal(await ray.get(handle.greet.remote("ray")), "hello, ray");
  // `later` exists once arm() has run; before, the call is refused naming the method and the class.
  await assert.rejects(ray.get(handle.later.remote()), /actor class Assigned has no method "later" \(its instance has nothing there\)/);
  await ray.get(handle.arm.remote());
  assert.equal(await ray.get(handle.later.remote()), "armed");
  ray.kill(handle);
});

test("kill refuses what is not a handle, and handles no actor of this runtime ever had", () => {
  assert.throws(() => ray.kill({ actorId: 5 } as never), /Expected `kill` to receive an actor handle .*got an object/);
  assert.throws(() => ray.kill(undefined as never), /Expected `kill` to receive an actor handle/);
  const forged = { __rayts$: "actor", __rayts$actor: { id: 987_654_321, name: "Ghost", methods: [] } };
  assert.throws(() => ray.kill(forged as never), (error: unknown) => error instanceof ray.RayError && /no actor with id 987654321/.test(error.message));
});

test("getActor is typed by the class it is given, and checks it", async () => {
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class -- an actor class with no methods on purpose
  const Other = ray.remote(class Other {});
  const original = TallyActor.options({ name: "typed-tally" }).remote();
  const typed = ray.getActor("typed-tally", TallyActor);
  assert.equal(await ray.get(typed.add.remote(4)), 4);
  // @ts-expect-error: Tally has no method `missing`
  assert.equal(typed.missing, undefined);
  assert.throws(() => ray.getActor("typed-tally", Other), /Expected the actor named "typed-tally" to be a Other/);
  // Without a class or type parameter, methods are untyped: any name, results unknown.
  const untyped = ray.getActor("typed-tally");
  const value: unknown = await ray.get(untyped["read"]!.remote());
  assert.equal(value, 4);
  ray.kill(original);
});

test("namespaces keep equal names apart", async () => {
  const a = TallyActor.options({ name: "shared-name", namespace: "team-a" }).remote();
  const b = TallyActor.options({ name: "shared-name", namespace: "team-b" }).remote();
  await ray.get([a.add.remote(1), b.add.remote(2)]);
  assert.equal(await ray.get(ray.getActor("shared-name", TallyActor, { namespace: "team-a" }).read.remote()), 1);
  assert.equal(await ray.get(ray.getActor("shared-name", TallyActor, { namespace: "team-b" }).read.remote()), 2);
  assert.throws(() => ray.getActor("shared-name"), /no live actor is named "shared-name"/);
  assert.throws(() => ray.getActor("shared-name", { namespace: "" }), /`namespace` to be a non-empty string/);
  ray.kill(a);
  ray.kill(b);
});

test("getIfExists returns the live actor of that name, from the driver and from tasks", async () => {
  const Options = TallyActor.options({ name: "only-one", getIfExists: true });
  const first = Options.remote();
  const second = Options.remote();
  await ray.get(first.add.remote(1));
  assert.equal(await ray.get(second.add.remote(1)), 2);
  const fromTask = ray.remote(async (cls: typeof Options) => {
    const handle = cls.remote();
    return ray.get(handle.add.remote(1));
  });
  assert.equal(await ray.get(fromTask.remote(Options)), 3);
  assert.equal(await ray.get(first.read.remote()), 3);
  assert.throws(() => TallyActor.options({ getIfExists: true }), /Expected `name` with `getIfExists: true`/);
  assert.throws(() => TallyActor.options({ name: "only-one" }).remote(), /already exists in namespace "default"/);
  ray.kill(first);
});
