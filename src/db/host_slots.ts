/**
 * The owner of `harvest_host_slot`: the per-host request limit shared by every process that uses
 * the database, so that three workers on three machines keep to the limit one remote was promised,
 * not three times it.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Queryable } from "./sql.ts";
import { PROCESS_ID } from "./consumers.ts";
import { isConnectionError } from "./mod.ts";

const log = getLogger(["harvest", "http"]);

/** Seconds a slot stays taken without renewal: how long a dead process's slots block the host. */
export const SLOT_LEASE_SECONDS = 30;
/** Seconds between renewals of the slots this process holds. */
const RENEW_SECONDS = 10;

/**
 * Takes and frees request slots per host in the database. A request waits for a free slot, polling
 * with a growing, jittered pause (20 ms to 500 ms); the slots a process holds are renewed every 10 s
 * while it holds any, so a request that takes minutes keeps its slot and a process that died frees
 * its slots within 30 s. A database that went away (a restart, a failover) is waited for as a
 * taken slot is, for up to 30 s: the request has not failed, and the harvester that sent it would
 * otherwise record the database's restart as the remote's error.
 */
export class HostSlots {
  #held = 0;
  #renewal: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly sql: Queryable, private readonly holder = PROCESS_ID) {}

  /** Waits for one of the host's `limit` slots; answers the function that frees it. */
  async acquire(host: string, limit: number, signal?: AbortSignal): Promise<() => Promise<void>> {
    const started = performance.now();
    for (let pause = 20;; pause = Math.min(pause * 2, 500)) {
      signal?.throwIfAborted();
      const slot = await this.#take(host, limit).catch((error) => {
        if (!isConnectionError(error) || performance.now() - started > SLOT_LEASE_SECONDS * 1000) throw error;
        return undefined;
      });
      if (slot !== undefined) {
        this.#hold();
        let freed = false;
        return async () => {
          if (freed) return;
          freed = true;
          this.#unhold();
          await this
            .sql`DELETE FROM harvest_host_slot WHERE host = ${host} AND slot = ${slot} AND holder = ${this.holder}`
            .catch((error) =>
              log.warning("Could not free a request slot for {host}: {error}", { host, error: String(error) })
            );
        };
      }
      await new Promise((r) => setTimeout(r, pause / 2 + Math.random() * pause / 2));
    }
  }

  /** Takes a free slot (never taken, or its lease ran out), if any: one statement, safe against races. */
  async #take(host: string, limit: number): Promise<number | undefined> {
    const [row] = await this.sql<{ slot: number }[]>`
      WITH free AS (
        SELECT s FROM generate_series(0, ${limit - 1}::int) AS s
        WHERE NOT EXISTS (SELECT 1 FROM harvest_host_slot h WHERE h.host = ${host} AND h.slot = s
          AND h.lease_until > now())
        ORDER BY random() LIMIT 1)
      INSERT INTO harvest_host_slot (host, slot, holder, lease_until)
      SELECT ${host}, s, ${this.holder}, now() + make_interval(secs => ${SLOT_LEASE_SECONDS}) FROM free
      ON CONFLICT (host, slot) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
        WHERE harvest_host_slot.lease_until <= now()
      RETURNING slot`;
    return row?.slot;
  }

  #hold(): void {
    if (this.#held++ > 0) return;
    const renewal = setInterval(() => {
      this.sql`UPDATE harvest_host_slot SET lease_until = now() + make_interval(secs => ${SLOT_LEASE_SECONDS})
        WHERE holder = ${this.holder}`
        .catch((error) => log.warning("Could not renew request slots: {error}", { error: String(error) }));
    }, RENEW_SECONDS * 1000);
    Deno.unrefTimer(renewal);
    this.#renewal = renewal;
  }

  #unhold(): void {
    if (--this.#held > 0) return;
    clearInterval(this.#renewal);
    this.#renewal = undefined;
  }
}
