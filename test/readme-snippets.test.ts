/**
 * Every TypeScript snippet in README.md is a complete program: each one is
 * extracted, type-checked as a user's file importing "rayts" would be, and
 * run in a child process, which must exit by itself with code 0.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import ts from "typescript";
import { INDEX_URL, REPO, runScript } from "./support/child.js";

/**
 * A line before a block that says it is type-checked but not run (a cluster
 * snippet needs machines; the cluster tests run the same calls).
 */
const TYPECHECK_ONLY = /^\s*<!-- readme-snippets: type-check only\b/;

/** The ```ts blocks of a markdown file, with the indentation of list items removed. */
export function tsBlocks(markdown: string): { line: number; code: string; run: boolean }[] {
  const blocks: { line: number; code: string; run: boolean }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ts\s*$/.exec(lines[i] as string);
    if (open === null) continue;
    const indent = (open[1] as string).length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j] as string); j++) body.push((lines[j] as string).slice(indent));
    blocks.push({ line: i + 1, code: body.join("\n"), run: !TYPECHECK_ONLY.test(lines[i - 1] ?? "") });
    i = j;
  }
  return blocks;
}

const README = readFileSync(join(REPO, "README.md"), "utf8");
const snippets = tsBlocks(README);
const DIR = join(REPO, ".rayts-tmp", `readme-${process.pid}`);

test("README.md has TypeScript snippets, each importing rayts", () => {
  assert.ok(snippets.length >= 8, `only ${snippets.length} snippets found`);
  for (const { line, code } of snippets) assert.match(code, /^import .* from "rayts";$/m, `the snippet at README.md:${line} does not import rayts`);
  // Only snippets that join a cluster may skip the run.
  for (const { line, code, run } of snippets) if (!run) assert.match(code, /init\(\{ address:/, `the snippet at README.md:${line} is not run but needs no cluster`);
});

test("every README snippet type-checks as a complete program", () => {
  mkdirSync(DIR, { recursive: true });
  try {
    const files = snippets.map(({ line, code }) => {
      const file = join(DIR, `readme-line-${line}.ts`);
      writeFileSync(file, code);
      return file;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2023.d.ts"],
      types: ["node"],
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      baseUrl: REPO,
      paths: { rayts: ["src/index.ts"] },
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && d.file.fileName.startsWith(DIR))
      .map((d) => {
        const where = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        const readmeLine = Number(/readme-line-(\d+)/.exec(d.file!.fileName)?.[1]) + where.line + 1;
        return `README.md:${readmeLine}: TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
      });
    assert.deepEqual(diagnostics, []);
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
});

// Each snippet runs in its own child process with its own runtime, so two run side by side: one starts while the other waits on its workers.
describe("README snippets that run", { concurrency: 2 }, () => {
  for (const { line, code } of snippets.filter((snippet) => snippet.run)) {
    test(`the README snippet at line ${line} runs and exits by itself`, { timeout: 240_000 }, async () => {
      const result = await runScript(`readme-${line}`, code.replaceAll('from "rayts"', `from "${INDEX_URL}"`), { timeoutMs: 120_000 });
      assert.equal(result.timedOut, false, `did not exit by itself\n${result.stdout}\n${result.stderr}`);
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    });
  }
});
