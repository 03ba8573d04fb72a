/**
 * The stalled-work warning: jobs wait, and no queue consumer is alive to move them.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";
import { aliveByKind } from "../db/consumers.ts";
import { waitingJobCount } from "./jobs.ts";

/** Heartbeat kinds that consume the queues (a scheduler alone moves no job forward). */
export const CONSUMER_KINDS = ["gather-consumer", "fetch-consumer", "worker", "all-in-one"];

/**
 * A plain sentence when jobs wait (New or Running) and no queue consumer has reported alive in the
 * last 60 s, so nothing will move them; undefined when all is well.
 */
export async function stalledWork(sql: Queryable, sourceId?: string): Promise<string | undefined> {
  const waiting = await waitingJobCount(sql, sourceId);
  if (waiting === 0) return undefined;
  const alive = await aliveByKind(sql);
  if (CONSUMER_KINDS.some((k) => (alive.get(k) ?? 0) > 0)) return undefined;
  return `${waiting} job(s) queued or running, but no worker is alive to process them: start ` +
    "`harvester worker` (or `serve` with all-in-one on)";
}
