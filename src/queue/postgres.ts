import { PROCESS_ID } from "../db/consumers.ts";
import type { Sql } from "../db/mod.ts";
import { getLogger } from "@logtape/logtape";
import { DEFAULT_RETRY_DELAY, type Lane, type ListenOptions, type Queue, type QueueName } from "./types.ts";
import { backoff, sleep } from "./retry.ts";

const log = getLogger(["harvest", "queue", "postgres"]);

/**
 * The default backend: a table queue. Consumers claim rows with `FOR UPDATE SKIP LOCKED` and a
 * visibility timeout, and delete them once handled, so a consumer that dies loses nothing.
 */
export class PostgresQueue implements Queue {
  constructor(
    private readonly sql: Sql,
    private readonly siteId: string,
    /** Seconds a delivered message stays invisible before it is delivered again. */
    private readonly visibilitySeconds = 300,
  ) {}

  /** The bulk lane keeps the original's name; the fast lane adds `.fast`. */
  #name(queue: QueueName, lane: Lane = "bulk"): string {
    return `ckan.harvest.${this.siteId}.${queue}${lane === "fast" ? ".fast" : ""}`;
  }

  async publish(queue: QueueName, bodies: string[], lane: Lane = "bulk"): Promise<void> {
    if (bodies.length === 0) return;
    const name = this.#name(queue, lane);
    await this.sql`INSERT INTO harvest_queue ${this.sql(bodies.map((body) => ({ queue: name, body })))}`;
  }

  async listen(queue: QueueName, handler: (body: string) => Promise<void>, options: ListenOptions): Promise<void> {
    const fast = this.#name(queue, "fast");
    const bulk = this.#name(queue);
    const concurrency = options.concurrency ?? 1;
    const retryDelay = options.retryDelay ?? DEFAULT_RETRY_DELAY;
    const inFlight = new Set<Promise<void>>();
    let failures = 0;
    while (!options.signal.aborted) {
      const free = concurrency - inFlight.size;
      let claimed: { id: string; body: string; fast: boolean }[] = [];
      try {
        // One statement claims from the fast lane first and fills what is left from the bulk lane.
        claimed = free <= 0 ? [] : await this.sql<{ id: string; body: string; fast: boolean }[]>`
          WITH f AS (SELECT id FROM harvest_queue WHERE queue = ${fast}
              AND (locked_until IS NULL OR locked_until < now()) ORDER BY id LIMIT ${free} FOR UPDATE SKIP LOCKED),
            b AS (SELECT id FROM harvest_queue WHERE queue = ${bulk}
              AND (locked_until IS NULL OR locked_until < now()) ORDER BY id
              LIMIT greatest(${free}::int - (SELECT count(*) FROM f)::int, 0) FOR UPDATE SKIP LOCKED)
          UPDATE harvest_queue SET locked_until = now() + make_interval(secs => ${this.visibilitySeconds}),
            deliveries = deliveries + 1, locked_by = ${PROCESS_ID}
          WHERE id IN (SELECT id FROM f UNION ALL SELECT id FROM b)
          RETURNING id, body, queue = ${fast} AS fast`;
        claimed.sort((a, b) => Number(b.fast) - Number(a.fast) || Number(BigInt(a.id) - BigInt(b.id)));
        failures = 0;
      } catch (error) {
        failures++;
        log.warning("Queue read failed ({failures}), retrying: {error}", { failures, error: String(error) });
        await sleep(backoff(failures), options.signal);
        continue;
      }
      for (const message of claimed) {
        // A failed handler's row comes back after the retry delay; if even that cannot be written
        // (the database is gone), when the visibility timeout ends.
        const task = handler(message.body)
          .then(() => this.sql`DELETE FROM harvest_queue WHERE id = ${message.id}`.then(() => {}), async (error) => {
            log.info("Message {id} not acknowledged: {error}", { id: message.id, error: String(error) });
            await this.sql`UPDATE harvest_queue SET locked_until = now() + make_interval(secs => ${retryDelay})
              WHERE id = ${message.id} AND locked_by = ${PROCESS_ID}`;
          })
          .catch((error) => log.info("Message {id} not handed back: {error}", { id: message.id, error: String(error) }))
          .finally(() => inFlight.delete(task));
        inFlight.add(task);
      }
      if (claimed.length === 0) {
        const wait = inFlight.size > 0 ? Promise.race(inFlight) : sleep(250, options.signal);
        await wait;
      } else if (inFlight.size >= concurrency) {
        await Promise.race(inFlight);
      }
    }
    await Promise.allSettled(inFlight);
  }

  /** Makes the messages that silent processes held deliverable again now. */
  async releaseHolders(holders: string[]): Promise<number> {
    const rows = await this.sql`
      UPDATE harvest_queue SET locked_until = NULL, locked_by = NULL WHERE locked_by = ANY(${holders})`;
    return rows.count;
  }

  async purge(queue: QueueName): Promise<number> {
    const names = [this.#name(queue, "fast"), this.#name(queue)];
    const rows = await this.sql`DELETE FROM harvest_queue WHERE queue = ANY(${names}) RETURNING id`;
    return rows.length;
  }

  async depth(queue: QueueName): Promise<number> {
    const names = [this.#name(queue, "fast"), this.#name(queue)];
    const [row] = await this.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM harvest_queue WHERE queue = ANY(${names})`;
    return row!.n;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
