/**
 * Where the shared memory of stored objects comes from. Every block of the
 * object store (a value's bytes copied into shared memory, a spilled object
 * read back, an object received from another node) is allocated here.
 *
 * A plain SharedArrayBuffer's memory comes from the C allocator (calloc),
 * which keeps freed blocks in its arenas for reuse: after a burst of large
 * objects went through the store, the process's RSS can stay gigabytes above
 * what it holds. A growable SharedArrayBuffer's memory comes from V8's page
 * allocator instead, mapped for that buffer alone and unmapped when it is
 * collected, so freed objects leave the process with no tuning of the C
 * allocator. Its maximum length is its length: it never grows, and views on
 * it behave as on any other SharedArrayBuffer (its `growable` is true).
 * Small blocks stay plain: a mapping of their own costs a system call and a
 * page fault that a reused arena slot does not, and their memory is small.
 * Blocks of 32 MiB and more stay plain too: glibc maps every request that
 * large by itself (its mmap threshold never rises past 32 MiB on 64-bit) and
 * unmaps it on free, and such a mapping gets transparent huge pages when the
 * process runs with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (node daemons do),
 * 512 times fewer page faults than V8's 4 KiB pages: on a 2-core virtual
 * machine, first writing a received 200 MB block took 0.15 to 0.25 s that way
 * against 3.5 to 4.8 s in a mapping of its own.
 *
 * Blocks of freed objects that no user code saw are reused rather than
 * freed, within bounds (block-pool.ts): that is what spares new values the
 * page faults of fresh pages.
 */

/**
 * Blocks of at least this many bytes get pages of their own (returned to
 * the system when freed); smaller ones come from the C allocator.
 */
export const OWN_PAGES_MIN_BYTES = 64 * 1024;

/** Blocks of at least this many bytes are mapped (and unmapped) by the C allocator itself. */
export const ALLOCATOR_MAPS_MIN_BYTES = 32 * 1024 * 1024;

/** The SharedArrayBuffer constructor with the (ES2024) options argument. */
const Shared = SharedArrayBuffer as unknown as new (bytes: number, options?: { maxByteLength: number }) => SharedArrayBuffer;

/**
 * A zero-filled SharedArrayBuffer of `bytes` bytes for a store block; its
 * memory goes back to the system once every thread has let go of it (see
 * the module comment). Throws a RangeError when `bytes` is not a valid
 * length or the memory cannot be had.
 */
export function allocateSharedBlock(bytes: number): SharedArrayBuffer {
  if (bytes < OWN_PAGES_MIN_BYTES || bytes >= ALLOCATOR_MAPS_MIN_BYTES) return new SharedArrayBuffer(bytes);
  try {
    return new Shared(bytes, { maxByteLength: bytes });
  } catch {
    // No address space for a mapping of its own (or no growable buffers): the C allocator may still have room.
    return new SharedArrayBuffer(bytes);
  }
}
