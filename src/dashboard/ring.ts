/**
 * A fixed-capacity ring buffer that overwrites its oldest item and counts
 * what it dropped, so every list the state API serves is bounded and says
 * how much it lost.
 */
export class Ring<T> {
  readonly #items: (T | undefined)[];
  #next = 0;
  #size = 0;
  #dropped = 0;

  constructor(capacity: number) {
    this.#items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    const capacity = this.#items.length;
    if (capacity === 0) {
      this.#dropped++;
      return;
    }
    if (this.#size === capacity) this.#dropped++;
    else this.#size++;
    this.#items[this.#next] = item;
    this.#next = this.#next + 1 === capacity ? 0 : this.#next + 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Items overwritten so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Items newest first. */
  newestFirst(): T[] {
    const out: T[] = [];
    const capacity = this.#items.length;
    for (let index = 1; index <= this.#size; index++) out.push(this.#items[(this.#next - index + capacity) % capacity] as T);
    return out;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#next = 0;
    this.#size = 0;
  }
}
