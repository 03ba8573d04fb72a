import type { PGlite } from "@electric-sql/pglite";

// Extended-protocol messages that only make sense together with the Sync that follows them.
const BUFFERED = new Set([0x50, 0x42, 0x44, 0x45, 0x43]); // Parse, Bind, Describe, Execute, Close
const TERMINATE = 0x58;
const FLUSH = 0x48;

/**
 * Shares PGlite's single backend session between many client connections.
 *
 * pglite-socket's own multiplexer runs each protocol message as it arrives, so a Parse from one
 * client can land between another client's Bind and Execute ("portal does not exist"). This queue
 * is handed to pglite-socket's `PGLiteSocketHandler` instead: it keeps each client's messages until
 * the Sync (or simple Query) that ends them, runs them as one unit, and while a client is inside a
 * transaction it holds the session so no other client's statements run inside that transaction.
 * It also holds the session from a Flush to the client's next Sync: postgres.js sends a statement
 * it has not prepared (an unnamed one, as `sql.unsafe` with parameters) as Parse, Describe and
 * Flush, and its Bind only once the description is back; another client's Parse in between
 * replaced the unnamed statement ("unnamed prepared statement does not exist" in a 20,000-dataset
 * harvest on the embedded database).
 */
export class SessionQueue {
  #db: PGlite;
  #pending = new Map<number, Uint8Array[]>();
  #busy = false;
  #owner: number | null = null;
  /** When the owner's last batch ended; a transaction left open that long blocks every other client. */
  #ownerIdleSince = 0;
  #waiters: (() => void)[] = [];
  /** Clients whose connection closed: nothing of theirs runs any more, and their transaction is rolled back. */
  #closed = new Set<number>();

  constructor(db: PGlite) {
    this.#db = db;
  }

  async enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    const type = message[0]!;
    if (BUFFERED.has(type)) {
      const list = this.#pending.get(handlerId) ?? [];
      list.push(message);
      this.#pending.set(handlerId, list);
      return 0;
    }
    if (type === TERMINATE) {
      this.#pending.delete(handlerId);
      return 0;
    }
    const parts = this.#pending.get(handlerId) ?? [];
    this.#pending.delete(handlerId);
    parts.push(message);
    const batch = parts.length === 1 ? message : concat(parts);
    await this.#acquire(handlerId);
    if (this.#closed.has(handlerId)) {
      // The client went away while this waited for the session: running it could open a transaction
      // that no one will ever end.
      this.#release();
      return 0;
    }
    let written = 0;
    try {
      await this.#db.execProtocolRawStream(batch, {
        onRawData: (data) => {
          written += data.length;
          onData(data);
        },
      });
    } finally {
      this.#owner = type === FLUSH || this.#db.isInTransaction() ? handlerId : null;
      this.#ownerIdleSince = Date.now();
      this.#release();
    }
    return written;
  }

  /** The client that holds the session inside a transaction and has sent nothing for `ms`, if any. */
  idleOwner(ms: number): number | null {
    return this.#owner !== null && !this.#busy && Date.now() - this.#ownerIdleSince > ms ? this.#owner : null;
  }

  getQueueLength(): number {
    return this.#waiters.length;
  }

  clearQueueForHandler(handlerId: number): void {
    this.#pending.delete(handlerId);
  }

  /**
   * Called when a client's connection closes. Waits for a batch of the client's that may still be
   * running (a client killed mid-statement), then rolls back the transaction it leaves open, so the
   * session is free at once instead of when the idle reaper notices.
   */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    this.#closed.add(handlerId);
    this.#pending.delete(handlerId);
    await this.#acquire(handlerId);
    try {
      if (this.#owner === handlerId) {
        if (this.#db.isInTransaction()) await this.#db.exec("ROLLBACK");
        this.#owner = null;
      }
    } finally {
      this.#release();
    }
  }

  async #acquire(handlerId: number): Promise<void> {
    while (this.#busy || (this.#owner !== null && this.#owner !== handlerId)) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#busy = true;
  }

  #release(): void {
    this.#busy = false;
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
