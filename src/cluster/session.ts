/**
 * The per-run session folder `rayts start` keeps on a machine, as Ray keeps
 * /tmp/ray/session_*: `logs/` for every daemon, `pids/` for what `rayts stop`
 * must stop, and `cluster.json` for `init({ address: "auto" })`. The root is
 * /tmp/rayts, or `$RAYTS_TMPDIR`.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** What a session records about the cluster it belongs to. */
export interface SessionInfo {
  /** "HOST:PORT" of the cluster's Redis. */
  readonly address: string;
  readonly redisPassword: string;
  readonly nodeIpAddress: string;
  /** The head's dashboard, when it serves one. */
  readonly dashboardUrl?: string;
}

/** Root folder of every session on this machine. */
export function sessionsRoot(): string {
  return process.env["RAYTS_TMPDIR"] ?? join(tmpdir(), "rayts");
}

/** A session folder. */
export class Session {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** A new session folder; it becomes the latest one by {@link makeLatest}, once what it records runs. */
  static create(): Session {
    const root = sessionsRoot();
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
    const session = new Session(join(root, `session_${stamp}_${process.pid}`));
    mkdirSync(join(session.dir, "logs"), { recursive: true });
    mkdirSync(join(session.dir, "pids"), { recursive: true });
    return session;
  }

  /** Makes this the session `init({ address: "auto" })` and the CLI find. */
  makeLatest(): void {
    const latest = join(sessionsRoot(), "session_latest");
    rmSync(latest, { force: true });
    symlinkSync(this.dir, latest);
  }

  /** The latest session on this machine, if any. */
  static latest(): Session | undefined {
    const latest = join(sessionsRoot(), "session_latest");
    try {
      return new Session(readlinkSync(latest));
    } catch {
      return undefined;
    }
  }

  get logs(): string {
    return join(this.dir, "logs");
  }

  writeInfo(info: SessionInfo): void {
    writeFileSync(join(this.dir, "cluster.json"), JSON.stringify(info, null, 2), { mode: 0o600 });
  }

  info(): SessionInfo | undefined {
    const file = join(this.dir, "cluster.json");
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as SessionInfo) : undefined;
  }

  /** Records a process `rayts stop` must stop. */
  addPid(name: string, pid: number): void {
    writeFileSync(join(this.dir, "pids", `${name}.pid`), String(pid));
  }

  pids(): { name: string; pid: number }[] {
    const dir = join(this.dir, "pids");
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((file) => file.endsWith(".pid"))
      .map((file) => ({ name: file.slice(0, -4), pid: Number(readFileSync(join(dir, file), "utf8")) }));
  }

  /** Whether a process this session recorded still runs (it was not stopped, though part of it may have died). */
  running(): boolean {
    return this.pids().some(({ pid }) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
  }

  /** Deletes the session folder (a start that failed: nothing it records runs). */
  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  removePid(name: string): void {
    rmSync(join(this.dir, "pids", `${name}.pid`), { force: true });
  }
}

/** Every session folder on this machine. */
export function allSessions(): Session[] {
  const root = sessionsRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => name.startsWith("session_") && name !== "session_latest")
    .map((name) => new Session(join(root, name)));
}
