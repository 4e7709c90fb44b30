/**
 * The observability subcommands (`list`, `summary`, `memory`, `logs`,
 * `timeline`, and `status` of a local driver), each a {@link Command} over
 * the dashboard's JSON API of a running driver or head.
 */
import { observabilityCommands } from "../../dashboard/cli.js";
import type { Command } from "../rayts.js";

function command(name: string, summary: string): Command {
  const run = observabilityCommands[name];
  if (run === undefined) throw new Error(`no observability command ${name}`);
  return { summary, run };
}

export const list = command("list", "list tasks, actors, objects, nodes or workers of a running driver (--filter k=v, --format json|table)");
export const summaryTasks = command("summary", "summarize tasks by function and state");
export const memory = command("memory", "objects by size, owner, reference type and who pins them");
export const logs = command("logs", "recent lines printed by tasks");
export const timeline = command("timeline", "write a Chrome trace / Perfetto JSON of task spans (-o file)");
export const dashboardStatus = command("status", "status of a running driver, from its dashboard");
