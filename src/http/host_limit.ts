/**
 * The per-host request limits of the HTTP client: a queue per host in this process, and the shape
 * of a limit shared with other processes (the database's request slots, `db/host_slots.ts`).
 *
 * @module
 */

/** A per-host request limit shared beyond this process: waits for a slot, answers its release. */
export interface HostLimit {
  acquire(host: string, limit: number, signal?: AbortSignal): Promise<() => Promise<void>>;
}

/** At most `n` holders at once; the others wait in order. */
export class Semaphore {
  #free: number;
  #waiters: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
  release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free++;
  }
}
