#!/usr/bin/env node
/**
 * The `rayts` command: a dispatcher over subcommand modules in
 * `./commands/`, each exporting `run(argv)` and a one-line `summary`.
 */
import { RayError } from "../core/api/errors.js";

/** A subcommand module. */
export interface Command {
  /** One line for `rayts --help`. */
  readonly summary: string;
  /** Runs the subcommand; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  start: () => import("./commands/start.js"),
  stop: () => import("./commands/stop.js"),
  status: () => import("./commands/status.js"),
  list: async () => (await import("./commands/observe.js")).list,
  summary: async () => (await import("./commands/observe.js")).summaryTasks,
  memory: async () => (await import("./commands/observe.js")).memory,
  logs: async () => (await import("./commands/observe.js")).logs,
  timeline: async () => (await import("./commands/observe.js")).timeline,
};

async function help(): Promise<void> {
  const lines = ["Usage: rayts <command> [options]", "", "Commands:"];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${(await load()).summary}`);
  lines.push("", "Run `rayts <command> --help` for a command's options.");
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    await help();
    return name === undefined ? 1 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    process.stderr.write(`rayts: unknown command "${name}"; expected one of ${Object.keys(COMMANDS).join(", ")}\n`);
    return 2;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof RayError || error instanceof TypeError || error instanceof RangeError ? error.message : String(error instanceof Error ? error.stack : error);
    process.stderr.write(`rayts: ${message}\n`);
    process.exitCode = 1;
  },
);
