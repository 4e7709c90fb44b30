/**
 * A fixed set of child processes running kernels (bench/workers/process-worker.mjs):
 * the machine-ceiling peer of the workload suite.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import type { Readable, Writable } from "node:stream";

interface Child {
  readonly process: ChildProcessByStdio<Writable, Readable, null>;
  readonly lines: Interface;
}

export class ProcessPool {
  readonly #children: Child[];

  constructor(count: number) {
    const script = new URL("../workers/process-worker.mjs", import.meta.url).pathname;
    this.#children = Array.from({ length: count }, () => {
      const child = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "inherit"] });
      return { process: child, lines: createInterface({ input: child.stdout }) };
    });
  }

  /** Runs `kernel(...args)` once in every child at the same time; resolves when all are done. */
  async runEach(kernel: string, args: readonly unknown[]): Promise<void> {
    await Promise.all(this.#children.map((child) => this.#call(child, kernel, args)));
  }

  #call(child: Child, kernel: string, args: readonly unknown[]): Promise<void> {
    return new Promise((resolve, reject) => {
      child.lines.once("line", (line: string) => {
        const answer = JSON.parse(line) as { ms?: number; error?: string };
        if (answer.error !== undefined) reject(new Error(`process peer: ${kernel} failed: ${answer.error}`));
        else resolve();
      });
      child.process.stdin.write(`${JSON.stringify({ kernel, args })}\n`);
    });
  }

  close(): void {
    for (const child of this.#children) child.process.stdin.end();
  }
}
