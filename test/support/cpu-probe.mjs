/**
 * Loaded into each test file's process by `npm run test:times` (through
 * `--import`): when the process exits, appends the CPU time (user + system)
 * of the file's process and of the child processes it waited for to the
 * file named by `RAYTS_TEST_TIMES_FILE`. Wall time far above CPU time marks
 * a file that waits (timers, heartbeats, child start-up) rather than
 * computes. Reads `/proc/self/stat`, so it records nothing off Linux. Plain
 * JavaScript: it loads before `--import tsx` applies.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { relative } from "node:path";

const collect = process.env["RAYTS_TEST_TIMES_FILE"];
const script = process.argv[1];

/** Clock ticks of user, system, waited-for children's user and system time; undefined off Linux. */
function ticks() {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // Fields after the command name (which may hold spaces) start at field 3 (state); utime is field 14.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
  } catch {
    return undefined;
  }
}

if (collect !== undefined && script?.endsWith(".test.ts") === true) {
  process.on("exit", () => {
    const total = ticks();
    // Linux reports these in USER_HZ, 100 a second on every architecture Node runs on.
    if (total !== undefined) appendFileSync(collect, `${JSON.stringify({ file: relative(process.cwd(), script), cpuMs: total * 10 })}\n`);
  });
}
