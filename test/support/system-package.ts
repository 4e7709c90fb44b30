/**
 * Debian packages some tests start for real (redis-server for the cluster
 * tests, chromium for the dashboard's browser test). On a fresh machine the
 * test set-up installs a missing one with apt-get when it runs as root, so
 * `npm test` needs no hand step; otherwise it fails saying what to install.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

function onPath(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Makes sure `command` exists, installing Debian's `pkg` if need be; `who` names the tests that need it. */
export function ensureDebianPackage(pkg: string, command: string, who: string): void {
  const present = (): boolean => (command.startsWith("/") ? existsSync(command) : onPath(command));
  if (present()) return;
  if (process.getuid?.() !== 0) throw new Error(`${who} need ${command}: install it with \`apt-get install -y ${pkg}\``);
  const installed = spawnSync("sh", ["-c", `apt-get install -y --no-install-recommends ${pkg} || (apt-get update && apt-get install -y --no-install-recommends ${pkg})`], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (installed.status !== 0 || !present()) throw new Error(`${who} need ${command} and \`apt-get install -y ${pkg}\` failed`);
}
