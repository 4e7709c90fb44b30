/**
 * The output manifest: `outDir/.raycompile-manifest.json` records, for each
 * srcDir compiled into that outDir, the files raycompile wrote there and a
 * hash of what it wrote. It is what lets a compile find its stale outputs
 * (files an earlier compile wrote that this one no longer produces, after a
 * source file or a remote function was renamed or deleted) and remove
 * them, without ever touching a file raycompile did not write: a file is
 * removed only when the manifest lists it for this srcDir, no other srcDir's
 * build lists it, and its contents are still exactly what was written.
 *
 * Task modules (and their source maps, and the capture-check module) are
 * raycompile's own plumbing, so stale ones go on every compile; other stale
 * outputs (the caller module of a deleted source, a copied asset) go with
 * `--clean` only, as `tsc` leaves them too.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { OutputFile } from "./emit.js";

/** File name of the manifest inside outDir. */
export const MANIFEST_FILE = ".raycompile-manifest.json";
const VERSION = 1;

/** What one srcDir's build wrote: output path (relative to outDir, `/`-separated) to hash, and which of them are task modules. */
interface BuildRecord {
  readonly files: Record<string, string>;
  readonly taskModules: readonly string[];
}

interface ManifestData {
  readonly raycompile: number;
  readonly note: string;
  /** Keyed by srcDir relative to outDir (`/`-separated). */
  readonly builds: Record<string, BuildRecord>;
}

/** The previous build of one srcDir, read from outDir's manifest. */
export interface PreviousBuild {
  /** The hash of each file the earlier build wrote, by path relative to outDir. */
  readonly files: ReadonlyMap<string, string>;
  readonly taskModules: ReadonlySet<string>;
  /** Paths that another srcDir's build lists: never removed. */
  readonly others: ReadonlySet<string>;
  /** The other builds, kept as they are when the manifest is rewritten. */
  readonly otherBuilds: Record<string, BuildRecord>;
}

/** Hash of a file's contents, as the manifest records it. */
export function contentHash(contents: string | Uint8Array): string {
  return createHash("sha256").update(contents).digest("hex").slice(0, 32);
}

function slashed(p: string): string {
  return p.split(path.sep).join("/");
}

function keyOf(srcDir: string, outDir: string): string {
  return slashed(path.relative(outDir, srcDir)) || ".";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A build record as read from disk, or undefined when it is not one. */
function readRecord(value: unknown): BuildRecord | undefined {
  if (!isRecord(value) || !isRecord(value["files"]) || !Array.isArray(value["taskModules"])) return undefined;
  const files: Record<string, string> = {};
  for (const [file, hash] of Object.entries(value["files"])) if (typeof hash === "string") files[file] = hash;
  return { files, taskModules: value["taskModules"].filter((file): file is string => typeof file === "string") };
}

/** The earlier build of `srcDir` into `outDir` (empty when there was none, or the manifest is unreadable). */
export function readPreviousBuild(srcDir: string, outDir: string): PreviousBuild {
  let builds: Record<string, unknown> = {};
  try {
    const data: unknown = JSON.parse(fs.readFileSync(path.join(outDir, MANIFEST_FILE), "utf8"));
    if (isRecord(data) && data["raycompile"] === VERSION && isRecord(data["builds"])) builds = data["builds"];
  } catch {
    // No manifest yet, or not one raycompile can read: nothing is known to be stale.
  }
  const key = keyOf(srcDir, outDir);
  const otherBuilds: Record<string, BuildRecord> = {};
  const others = new Set<string>();
  for (const [name, value] of Object.entries(builds)) {
    const record = readRecord(value);
    if (record === undefined || name === key) continue;
    otherBuilds[name] = record;
    for (const file of Object.keys(record.files)) others.add(file);
  }
  const own = readRecord(builds[key]);
  return { files: new Map(Object.entries(own?.files ?? {})), taskModules: new Set(own?.taskModules ?? []), others, otherBuilds };
}

/** True when the file at `file` still holds exactly what raycompile wrote there. */
function unchangedSince(file: string, hash: string): boolean {
  try {
    return fs.statSync(file).isFile() && contentHash(fs.readFileSync(file)) === hash;
  } catch {
    return false;
  }
}

/** Whether outDir's `package.json` is one an earlier build of srcDir wrote and nobody changed since. */
export function wrotePackageJson(previous: PreviousBuild, outDir: string): boolean {
  const hash = previous.files.get("package.json");
  return hash !== undefined && unchangedSince(path.join(outDir, "package.json"), hash);
}

/** The stale outputs of a compile, and the manifest to write with its outputs. */
export interface StalePlan {
  /** Absolute paths of the stale files to remove. */
  readonly remove: readonly string[];
  /** Absolute paths of stale files kept (without `--clean`); `--clean` would remove them. */
  readonly kept: readonly string[];
  readonly manifest: OutputFile;
}

/**
 * Finds the stale outputs of this compile of `srcDir` and builds the new
 * manifest. `outputs` are this compile's files; `taskModules` the absolute
 * paths among them that are raycompile's plumbing. Stale files that are
 * kept stay in the manifest, so that a later `--clean` still knows them.
 */
export function planStale(
  srcDir: string,
  outDir: string,
  outputs: readonly OutputFile[],
  taskModules: ReadonlySet<string>,
  previous: PreviousBuild,
  clean: boolean,
): StalePlan {
  const files: Record<string, string> = {};
  const tasks = new Set<string>();
  for (const output of outputs) {
    const rel = slashed(path.relative(outDir, output.path));
    files[rel] = contentHash(output.contents);
    if (taskModules.has(output.path)) tasks.add(rel);
  }
  const remove: string[] = [];
  const kept: string[] = [];
  for (const [rel, hash] of previous.files) {
    if (rel in files || previous.others.has(rel) || rel === MANIFEST_FILE) continue;
    const file = path.join(outDir, ...rel.split("/"));
    if (!unchangedSince(file, hash)) continue;
    const plumbing = previous.taskModules.has(rel);
    if (clean || plumbing) remove.push(file);
    else {
      kept.push(file);
      files[rel] = hash;
    }
  }
  const data: ManifestData = {
    raycompile: VERSION,
    note: "Files raycompile wrote here, so that it can remove the ones that go stale (see `raycompile --help`, --clean). Do not edit.",
    builds: { ...previous.otherBuilds, [keyOf(srcDir, outDir)]: { files, taskModules: [...tasks].sort() } },
  };
  return { remove: remove.sort(), kept: kept.sort(), manifest: { path: path.join(outDir, MANIFEST_FILE), contents: `${JSON.stringify(data, null, 2)}\n` } };
}

/**
 * Removes stale outputs (call it after the outputs were written), then the
 * folders under outDir that this left empty. Returns the files that could
 * not be removed, with why.
 */
export function removeStale(files: readonly string[], outDir: string): { file: string; reason: string }[] {
  const failures: { file: string; reason: string }[] = [];
  const folders = new Set<string>();
  for (const file of files) {
    try {
      fs.rmSync(file, { force: true });
      folders.add(path.dirname(file));
    } catch (error) {
      failures.push({ file, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  const root = path.resolve(outDir);
  // Deepest first, so that a parent emptied by its child's removal goes too.
  const queue = [...folders].sort((a, b) => b.length - a.length);
  for (let folder = queue.shift(); folder !== undefined; folder = queue.shift()) {
    if (!folder.startsWith(root + path.sep)) continue;
    try {
      fs.rmdirSync(folder);
      queue.push(path.dirname(folder));
      queue.sort((a, b) => b.length - a.length);
    } catch {
      // Not empty (or already gone): leave it.
    }
  }
  return failures;
}
