/**
 * Progress on stderr while a suite runs, so stdout keeps only the table.
 * On a terminal the line is rewritten in place; otherwise one line per step.
 */
export class Progress {
  readonly #suite: string;
  readonly #tty = (process.stderr.isTTY as boolean | undefined) === true; // undefined when not a terminal
  readonly #start = performance.now();
  #lastTopic = "";
  #lastPrinted = 0;

  constructor(suite: string) {
    this.#suite = suite;
  }

  step(message: string): void {
    const seconds = ((performance.now() - this.#start) / 1000).toFixed(1);
    const line = `[${this.#suite} ${seconds}s] ${message}`;
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${line.slice(0, ((process.stderr.columns as number | undefined) ?? 120) - 1)}`);
    } else {
      // Without a terminal: a line when the topic changes, else every 2 s.
      const topic = message.split(":")[0] ?? message;
      const now = performance.now();
      if (topic !== this.#lastTopic || now - this.#lastPrinted > 2000) {
        process.stderr.write(`${line}\n`);
        this.#lastTopic = topic;
        this.#lastPrinted = now;
      }
    }
  }

  done(): void {
    if (this.#tty) process.stderr.write("\r\x1b[2K");
    const seconds = ((performance.now() - this.#start) / 1000).toFixed(1);
    process.stderr.write(`[${this.#suite}] done in ${seconds}s\n`);
  }
}
