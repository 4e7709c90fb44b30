/**
 * Worker threads load only what they need: the static import graph of the
 * worker's entry (as emitted, so type-only imports do not count, and
 * `import()` loaded on demand does not either) reaches none of the driver's
 * modules.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Modules of the driver: the runtime's parts, its thread pool, the store, the cluster and dashboard drivers. */
const DRIVER_ONLY = [
  "src/core/runtime/runtime.ts",
  "src/core/actors/actor-manager.ts",
  "src/core/actors/actor-threads.ts",
  "src/core/scheduling/scheduler.ts",
  "src/core/scheduling/scheduling-policy.ts",
  "src/core/scheduling/task-queue.ts",
  "src/core/scheduling/dependencies.ts",
  "src/core/store/lending.ts",
  "src/core/store/object-store.ts",
  "src/core/store/ownership.ts",
  "src/core/store/object-directory.ts",
  "src/core/runtime/control-plane.ts",
  "src/core/runtime/driver-loop.ts",
  "src/core/runtime/driver-objects.ts",
  "src/core/runtime/driver-parts.ts",
  "src/core/runtime/driver-tasks.ts",
  "src/core/runtime/worker-messages.ts",
  "src/core/runtime/worker-failures.ts",
  "src/core/transport/worker-pool.ts",
  "src/cluster/driver.ts",
  "src/dashboard/index.ts",
];

/** Relative specifiers of the imports and re-exports that stay in the emitted JavaScript of `file`. */
function staticImports(file: string): string[] {
  const emitted = ts.transpileModule(readFileSync(file, "utf8"), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const source = ts.createSourceFile(file.replace(/\.ts$/, ".js"), emitted, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if ((ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier !== undefined) {
      const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
      if (specifier.startsWith(".")) specifiers.push(specifier);
    }
  }
  return specifiers;
}

/** Every source file reachable from `entry` through static imports, relative to the repository. */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [resolve(root, entry)];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    const name = relative(root, file);
    if (seen.has(name)) continue;
    seen.add(name);
    for (const specifier of staticImports(file)) {
      const target = resolve(dirname(file), specifier).replace(/\.js$/, ".ts");
      assert.ok(existsSync(target), `${name} imports ${specifier}, which resolves to no source file`);
      pending.push(target);
    }
  }
  return seen;
}

test("the worker entry's static imports reach no driver-only module", () => {
  const graph = reachable("src/core/worker/worker.ts");
  // The walk itself works: the entry reaches the modules it runs tasks with.
  for (const needed of ["src/core/worker/worker-backend.ts", "src/core/worker/actor-host.ts", "src/core/codec/serialization.ts", "src/core/api/api.ts"]) {
    assert.ok(graph.has(needed), `expected the worker entry to reach ${needed}`);
  }
  const leaked = DRIVER_ONLY.filter((file) => graph.has(file));
  assert.deepEqual(leaked, [], `the worker entry loads driver modules: ${leaked.join(", ")}`);
});

test("the package entry, which drivers import, does load the driver runtime", () => {
  assert.ok(reachable("src/index.ts").has("src/core/runtime/runtime.ts"));
});
