/**
 * The spill folder of one runtime: one file per spilled object, written and
 * read off the event loop (libuv's thread pool), removed when the object is
 * freed, and the whole folder removed at shutdown or when the process exits.
 */
import { closeSync, openSync, readSync, rmSync, statfsSync } from "node:fs";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TypedArrayName } from "../protocol/protocol.js";
import { allocateSharedBlock } from "./shared-blocks.js";

/** How to rebuild a value from its bytes on disk. */
export type SpillShape =
  | { readonly t: "ta"; readonly c: TypedArrayName }
  | { readonly t: "ab" }
  | { readonly t: "ar"; readonly k: "table" | "batch" | "vector" }
  | { readonly t: "s"; readonly ids: readonly number[] | undefined };

/** One object's bytes on disk. */
export interface SpillFile {
  readonly path: string;
  readonly bytes: number;
  readonly shape: SpillShape;
}

/** Largest read in one call (the kernel caps a read near 2 GB). */
const READ_CHUNK = 1 << 30;
/** Without a byte limit, spilling stops while the disk is this full (Ray's `local_fs_capacity_threshold`). */
const DISK_FULL_FRACTION = 0.95;

/** Default root of spill folders: `RAYTS_TMPDIR`, else the OS temp folder, then `rayts`. */
export function defaultSpillRoot(): string {
  return process.env["RAYTS_TMPDIR"] ?? join(tmpdir(), "rayts");
}

export class SpillFiles {
  readonly #root: string;
  readonly #limit: number;
  #folder: Promise<string> | undefined;
  #path: string | undefined;
  #used = 0;
  #closed = false;
  readonly #onExit = (): void => this.removeAll();

  /** `root`: where the runtime's folder is made; `limit`: bytes the files may take (Infinity: the disk's own). */
  constructor(root: string, limit: number) {
    this.#root = root;
    this.#limit = limit;
  }

  /** Bytes of spill files on disk now. */
  get used(): number {
    return this.#used;
  }

  get limit(): number {
    return this.#limit;
  }

  /** The runtime's spill folder, once the first object was spilled. */
  get folder(): string | undefined {
    return this.#path;
  }

  /** True when `bytes` more (beside `pending` bytes being written) stay within the limit and leave the disk under 95% full. */
  hasRoom(bytes: number, pending: number): boolean {
    if (this.#closed || this.#used + pending + bytes > this.#limit) return false;
    if (this.#limit !== Infinity) return true;
    try {
      const disk = statfsSync(this.#path ?? this.#root);
      return (disk.blocks - disk.bavail) * disk.bsize + pending + bytes <= DISK_FULL_FRACTION * disk.blocks * disk.bsize;
    } catch {
      return true; // the root does not exist yet: the write will say if it cannot be made
    }
  }

  #made(): Promise<string> {
    this.#folder ??= (async () => {
      await mkdir(this.#root, { recursive: true });
      const path = await mkdtemp(join(this.#root, `spill-${process.pid}-`));
      this.#path = path;
      // A program that ends without shutdown() still leaves no files behind.
      process.on("exit", this.#onExit);
      if (this.#closed) this.removeAll();
      return path;
    })();
    return this.#folder;
  }

  /** Writes an object's bytes; resolves with its file. */
  async write(id: number, bytes: Uint8Array, shape: SpillShape): Promise<SpillFile> {
    const path = join(await this.#made(), `${id}.bin`);
    if (this.#closed) throw new Error("the runtime was shut down");
    await writeFile(path, bytes);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may run during the await
    if (this.#closed) {
      rmSync(path, { force: true });
      throw new Error("the runtime was shut down");
    }
    this.#used += bytes.byteLength;
    return { path, bytes: bytes.byteLength, shape };
  }

  /** Reads a file back into fresh shared memory. */
  async read(file: SpillFile): Promise<SharedArrayBuffer> {
    const shared = allocateSharedBlock(file.bytes);
    const view = new Uint8Array(shared);
    const handle = await open(file.path, "r");
    try {
      for (let offset = 0; offset < file.bytes; ) {
        const { bytesRead } = await handle.read(view, offset, Math.min(READ_CHUNK, file.bytes - offset), offset);
        if (bytesRead === 0) throw new Error(`${file.path} ends after ${offset} of ${file.bytes} bytes`);
        offset += bytesRead;
      }
    } finally {
      await handle.close();
    }
    return shared;
  }

  /** Reads a file back at once, blocking the thread (for a value needed synchronously). */
  readNow(file: SpillFile): SharedArrayBuffer {
    const shared = allocateSharedBlock(file.bytes);
    const view = new Uint8Array(shared);
    const fd = openSync(file.path, "r");
    try {
      for (let offset = 0; offset < file.bytes; ) {
        const read = readSync(fd, view, offset, Math.min(READ_CHUNK, file.bytes - offset), offset);
        if (read === 0) throw new Error(`${file.path} ends after ${offset} of ${file.bytes} bytes`);
        offset += read;
      }
    } finally {
      closeSync(fd);
    }
    return shared;
  }

  /** Deletes a file whose object was freed. */
  remove(file: SpillFile): void {
    this.#used -= file.bytes;
    void rm(file.path, { force: true }).catch(() => undefined);
  }

  /** Deletes the folder and everything in it (shutdown, process exit); no file is written after. */
  removeAll(): void {
    this.#closed = true;
    this.#used = 0;
    process.off("exit", this.#onExit);
    if (this.#path !== undefined) rmSync(this.#path, { recursive: true, force: true });
  }
}
