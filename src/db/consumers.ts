/**
 * The owner of `harvest_consumer`: the heartbeats of long-running processes (workers, consumers,
 * schedulers), which the dashboard, the metrics and the stalled-work warning read.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Queryable } from "./sql.ts";

const log = getLogger(["harvest", "recovery"]);

/**
 * This process, as its heartbeat and the leases it takes name it: host, pid and a random part, so a
 * process restarted with the same pid (pid 1 in a container) is not taken for the one that died.
 */
export const PROCESS_ID = `${Deno.hostname()}:${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`;

/** Seconds between heartbeats of a long-running process. */
export const HEARTBEAT_SECONDS = 3;

/** Records a process alive now. */
export async function beat(sql: Queryable, id: string, kind: string): Promise<void> {
  await sql`INSERT INTO harvest_consumer (id, kind, host, pid) VALUES (${id}, ${kind}, ${Deno.hostname()}, ${Deno.pid})
    ON CONFLICT (id) DO UPDATE SET last_seen = now(), kind = excluded.kind`;
}

/** Forgets a process that stopped. */
export async function forget(sql: Queryable, id: string): Promise<void> {
  await sql`DELETE FROM harvest_consumer WHERE id = ${id}`;
}

/** Processes seen within `seconds`, with the seconds since each last reported. */
export async function seenWithin(
  sql: Queryable,
  seconds: number,
): Promise<{ id: string; kind: string; age: number }[]> {
  return await sql<{ id: string; kind: string; age: number }[]>`
    SELECT id, kind, extract(epoch FROM now() - last_seen)::float8 AS age FROM harvest_consumer
    WHERE last_seen > now() - make_interval(secs => ${seconds}) ORDER BY kind, id`;
}

/** How many processes of each kind reported in the last minute. */
export async function aliveByKind(sql: Queryable): Promise<Map<string, number>> {
  const rows = await sql<{ kind: string; n: number }[]>`
    SELECT kind, count(*)::int AS n FROM harvest_consumer WHERE last_seen > now() - interval '60 seconds'
    GROUP BY kind`;
  return new Map(rows.map((r) => [r.kind, r.n]));
}

/** Processes that reported alive once but not for `seconds`: dead, or cut off. */
export async function silentFor(sql: Queryable, seconds: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM harvest_consumer WHERE last_seen < now() - make_interval(secs => ${seconds})`;
  return rows.map((r) => r.id);
}

/**
 * Reports this long-running process alive every `HEARTBEAT_SECONDS` until the signal aborts, then
 * removes its row; `after` runs after each beat (the recovery of dead processes' work).
 */
export async function heartbeat(
  sql: Queryable,
  kind: string,
  signal: AbortSignal,
  after?: () => Promise<void>,
): Promise<void> {
  const id = PROCESS_ID;
  // The work after a beat runs beside the beats, one at a time: however long it takes (rows a dead
  // process still locks), this process keeps reporting alive.
  let after_: Promise<void> | undefined;
  const once = async () => {
    try {
      await beat(sql, id, kind);
    } catch {
      return; // the database is away; the consumers reconnect by themselves and so will this
    }
    if (!after || after_) return;
    after_ = after()
      .catch((error) =>
        log.warning("Recovering the work of silent processes failed: {error}", { error: String(error) })
      )
      .finally(() => after_ = undefined);
  };
  await once();
  while (!signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, HEARTBEAT_SECONDS * 1000);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (!signal.aborted) await once();
  }
  await after_;
  await forget(sql, id).catch(() => {});
}
