/** The queue of ready tasks; a separate type so that a scheduler policy can swap it. */
export interface TaskQueue<T> {
  readonly size: number;
  push(item: T): void;
  unshift(item: T): void;
  peek(): T | undefined;
  shift(): T | undefined;
}

/**
 * FIFO on a growable ring buffer: O(1) push, shift and unshift, no
 * per-item allocation (an array's `shift` is O(n)).
 *
 *   head                tail
 *    v                   v
 *   [ . . a b c d e f . . ]   capacity 2^k, indices taken mod capacity
 */
export class FifoQueue<T> implements TaskQueue<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(16);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  #grow(): void {
    const old = this.#items;
    const items = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#size; i++) items[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = items;
    this.#head = 0;
  }

  push(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & (this.#items.length - 1)] = item;
    this.#size++;
  }

  unshift(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = item;
    this.#size++;
  }

  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#size--;
    return item;
  }
}
