/**
 * Starts the `redis-server` a head node (or the test harness) runs: bound to
 * one address, always with a password, no persistence, its log in a file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { connect, createServer } from "node:net";
import { RayError } from "../core/api/errors.js";

/** A running `redis-server`. */
export interface RedisServerProcess {
  readonly host: string;
  readonly port: number;
  readonly password: string;
  readonly pid: number;
  readonly child: ChildProcess;
}

/** The `redis-server` binary on PATH, or a RayError naming the Debian package to install. */
export function findRedisServer(): string {
  const path = (process.env["PATH"] ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "")
    .map((dir) => join(dir, "redis-server"))
    .find((file) => {
      try {
        accessSync(file, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  if (path === undefined) {
    throw new RayError(
      "redis-server was not found on PATH: rayts cluster mode runs its control plane on Redis 7. " +
        "Install it with `apt-get install -y redis-server` (Debian/Ubuntu package `redis-server`).",
    );
  }
  return path;
}

/** A fresh random password (Redis is never started without one). */
export function newPassword(): string {
  return randomBytes(18).toString("base64url");
}

/** A TCP port that was free on `host` a moment ago. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  readonly host: string;
  readonly port: number;
  readonly password: string;
  /** File that receives redis-server's log. */
  readonly logFile: string;
  /** Start it in its own process group, surviving the caller (the CLI's head). */
  readonly detached: boolean;
  /** Folder of an append-only file: state survives a restart of Redis (none by default). */
  readonly dataDir?: string;
}

/**
 * Starts redis-server and resolves once it accepts connections (it prints
 * "Ready to accept connections"). Rejects with its log when it exits first.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServerProcess> {
  if (options.password.length === 0) throw new RangeError("Expected `redisPassword` to be a non-empty string, got an empty string");
  const binary = findRedisServer();
  const args = [
    "--bind", options.host,
    "--port", String(options.port),
    "--requirepass", options.password,
    "--protected-mode", "yes",
    "--save", "",
    ...(options.dataDir === undefined ? ["--appendonly", "no"] : ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", options.dataDir]),
    "--daemonize", "no",
    "--loglevel", "notice",
    "--logfile", options.logFile,
  ];
  const child = spawn(binary, args, { stdio: "ignore", detached: options.detached });
  const exited = new Promise<never>((_, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => {
      let log = "";
      try {
        log = readFileSync(options.logFile, "utf8").split("\n").slice(-8).join("\n");
      } catch {
        // no log written
      }
      reject(new RayError(`redis-server on ${options.host}:${options.port} exited with code ${code} before it was ready (log ${options.logFile}):\n${log.trim()}`));
    });
  });
  exited.catch(() => undefined);
  await Promise.race([exited, untilListening(options.host, options.port)]);
  child.removeAllListeners("exit");
  if (child.pid === undefined) throw new RayError("redis-server did not start");
  return { host: options.host, port: options.port, password: options.password, pid: child.pid, child };
}

/** Resolves once something accepts TCP connections on host:port (retrying every few ms). */
function untilListening(host: string, port: number): Promise<void> {
  return new Promise((resolve) => {
    const attempt = (): void => {
      const socket = connect({ host, port });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        setTimeout(attempt, 10);
      });
    };
    attempt();
  });
}
