/**
 * Collects the garbage of the previous case outside the timed region (the
 * suites run with --expose-gc): otherwise its collection, on the driver
 * thread and on V8's helper threads, is billed to whichever case runs next.
 */
export async function settleHeap(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
