#!/usr/bin/env node
/**
 * The `rayts` command: a dispatcher over subcommand modules in
 * `./commands/`, each exporting `run(argv)` and a one-line `summary`.
 *
 * Exit codes, the same for every command: 0 done, 1 the command failed
 * while running, 2 the command line is wrong (nothing was done).
 */
import { RayError } from "../core/api/errors.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, isUsageError, packageVersion } from "./usage.js";
import { isEntryPoint } from "./entry-point.js";

/** A subcommand module. */
export interface Command {
  /** One line for `rayts --help`. */
  readonly summary: string;
  /** Runs the subcommand; resolves to the exit code, or throws (a {@link UsageError} for a wrong command line). */
  run(argv: string[]): Promise<number>;
}

/** Where the dispatcher writes; replaceable in tests. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

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

/** The top-level usage: every command with its summary, and the global options. */
export async function usage(): Promise<string> {
  const lines = ["Usage: rayts <command> [options]", "", "Commands:"];
  for (const [name, load] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(8)} ${(await load()).summary}`);
  lines.push(
    "",
    "Options:",
    "  -h, --help     show this help (also: rayts help)",
    "  -v, --version  print the rayts version",
    "",
    "Run `rayts <command> --help` for a command's options.",
    "Exit codes: 0 done, 1 the command failed, 2 bad usage (nothing was done).",
  );
  return `${lines.join("\n")}\n`;
}

/** The message of an error a command threw: its text for expected failures, the stack for a bug. */
function describe(error: unknown): string {
  if (isUsageError(error) || error instanceof RayError || error instanceof TypeError || error instanceof RangeError) return (error as Error).message;
  return String(error instanceof Error ? error.stack : error);
}

/** Runs `rayts ...argv` and resolves to its exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    io.stdout(await usage());
    return EXIT_OK;
  }
  if (name === "--version" || name === "-v") {
    io.stdout(`rayts ${packageVersion()}\n`);
    return EXIT_OK;
  }
  if (name === undefined) {
    io.stderr(`rayts: Expected a command, got none\n\n${await usage()}`);
    return EXIT_USAGE;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    io.stderr(`rayts: unknown command "${name}"; expected one of ${Object.keys(COMMANDS).join(", ")} (rayts --help lists them)\n`);
    return EXIT_USAGE;
  }
  try {
    return await (await load()).run(rest);
  } catch (error) {
    if (isUsageError(error)) {
      io.stderr(`rayts ${name}: ${describe(error)}\nRun \`rayts ${name} --help\` for its options.\n`);
      return EXIT_USAGE;
    }
    io.stderr(`rayts: ${describe(error)}\n`);
    return EXIT_FAILURE;
  }
}

if (isEntryPoint(import.meta.url)) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
