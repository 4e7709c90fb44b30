#!/usr/bin/env node
/**
 * A standalone entry for the observability commands:
 * `node dist/dashboard/cli-main.js list tasks --filter state=failed`.
 */
import { OBSERVABILITY_USAGE, observabilityCommands } from "./cli.js";

const [name, ...rest] = process.argv.slice(2);
const run = name === undefined ? undefined : observabilityCommands[name];
if (run === undefined) {
  process.stderr.write(name === undefined || name === "--help" ? OBSERVABILITY_USAGE : `rayts: unknown command "${name}"\n${OBSERVABILITY_USAGE}`);
  process.exitCode = name === "--help" ? 0 : 2;
} else process.exitCode = await run(rest);
