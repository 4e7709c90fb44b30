/**
 * Shared fast-check settings for the property tests: bounded runs so that the
 * suite stays fast on a small machine, and a printed, replayable seed.
 *
 * A failure's report (thrown by `fc.assert`) carries the seed and path of the
 * shrunk counterexample. To replay it: `FC_SEED=<seed> FC_PATH=<path> npm test`
 * (a model-based test also prints a `replayPath` for its commands: add
 * `FC_REPLAY=<replayPath>`).
 * `FC_RUNS=<factor>` multiplies every `numRuns` for a longer soak.
 */
import fc from "fast-check";

const seedText = process.env["FC_SEED"];
const path = process.env["FC_PATH"];
const factor = Number(process.env["FC_RUNS"] ?? "1");

/** The seed of this process: FC_SEED when given, else a fresh one. */
export const seed = seedText === undefined ? (Date.now() ^ (Math.random() * 0x100000000)) | 0 : Number(seedText);

/** Parameters of `fc.assert` with `numRuns` runs (scaled by FC_RUNS). */
export function params<T>(numRuns: number): fc.Parameters<T> {
  const runs = Math.max(1, Math.round(numRuns * (Number.isFinite(factor) && factor > 0 ? factor : 1)));
  const base = { numRuns: runs, seed, includeErrorInReport: true };
  return path === undefined ? base : { ...base, path };
}

const replayPath = process.env["FC_REPLAY"];

/** Settings of `fc.commands`: up to `maxCommands` commands, replaying FC_REPLAY's when given. */
export function commandSettings(maxCommands: number): fc.CommandsContraints {
  const base = { maxCommands, size: "max" as const };
  return replayPath === undefined ? base : { ...base, replayPath };
}

// Printed once per file, so that even a crash outside fast-check's report can be replayed.
console.log(`fast-check seed ${seed} (replay with FC_SEED=${seed})`);
