/**
 * A source's window: the owner of `harvest_job_window`. A source with a concurrency cap (its config's
 * `concurrency`, else `ckan.harvest.source_concurrency`) has at most that many objects queued or being
 * fetched and imported at once, across every worker; its other new objects are parked in the database
 * and queued as earlier ones finish. So one big source cannot fill the queue, and every other source's
 * objects wait behind at most `cap` of its own.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import type { Queryable } from "../db/mod.ts";
import { unparkObjects } from "./objects.ts";
import { inFlightOf } from "./reports.ts";

const log = getLogger(["harvest", "window"]);

/** Seconds a window may stand still before the tick counts what it holds again. */
const RECOUNT_AFTER_SECONDS = 60;

/** The cap of a source: its config's `concurrency`, else the site's; 0 for none. */
export function sourceCap(services: Services, config: Record<string, unknown>): number {
  const own = config.concurrency;
  if (typeof own === "number" && Number.isInteger(own) && own > 0) return own;
  return services.config.values["ckan.harvest.source_concurrency"];
}

/**
 * Told that a capped job has new objects (the gather parked them as it inserted them): queues as many
 * of the job's parked objects as the window has room for (on the fast lane: there are never more
 * than `cap` of them).
 */
export async function admit(services: Services, jobId: string, cap: number): Promise<void> {
  await slide(services, jobId, { cap, finished: 0 });
}

/**
 * Tells the windows that some of their objects finished (a consumer's lot); each queues as many
 * parked objects in their place.
 */
export async function finished(services: Services, lots: { job: string; objects: number }[]): Promise<void> {
  for (const lot of lots) await slide(services, lot.job, { finished: lot.objects });
}

/** Drops the window of a job that finished. */
export async function closeWindow(sql: Queryable, jobId: string): Promise<void> {
  await sql`DELETE FROM harvest_job_window WHERE job_id = ${jobId}`;
}

/**
 * The tick's part: windows of jobs no longer running are dropped, and a window that stood still
 * for a minute is counted again (a worker that died between finishing objects and telling the
 * window leaves it holding fewer than it thinks), then filled.
 */
export async function recount(services: Services): Promise<number> {
  const { sql } = services;
  await sql`DELETE FROM harvest_job_window w USING harvest_job j WHERE j.id = w.job_id AND j.status <> 'Running'`;
  const still = await sql<{ job_id: string }[]>`
    SELECT job_id FROM harvest_job_window WHERE moved < now() - make_interval(secs => ${RECOUNT_AFTER_SECONDS})`;
  let queued = 0;
  for (const { job_id } of still) queued += await slide(services, job_id, { finished: 0, recount: true });
  return queued;
}

/** The window of a job, locked for this transaction; with `cap`, created (or its cap updated) first. */
async function lockWindow(
  tx: Queryable,
  jobId: string,
  cap: number | undefined,
): Promise<{ cap: number; in_flight: number } | undefined> {
  const [row] = cap === undefined
    ? await tx<{ cap: number; in_flight: number }[]>`
      SELECT cap, in_flight FROM harvest_job_window WHERE job_id = ${jobId} FOR UPDATE`
    : await tx<{ cap: number; in_flight: number }[]>`
      INSERT INTO harvest_job_window (job_id, cap) VALUES (${jobId}, ${cap})
      ON CONFLICT (job_id) DO UPDATE SET cap = excluded.cap RETURNING cap, in_flight`;
  return row;
}

/**
 * Moves a job's window under its row lock: `finished` objects left it; parked ones take their place
 * up to the cap. The objects are queued after the commit: one that is left unqueued by a crash just
 * then is found by the tick's lost-work recovery, as any object whose message was lost.
 */
async function slide(
  services: Services,
  jobId: string,
  move: { cap?: number; finished: number; recount?: boolean },
): Promise<number> {
  const ids = await services.sql.begin(async (tx) => {
    const window = await lockWindow(tx, jobId, move.cap);
    if (!window) return [];
    const before = move.recount ? await inFlightOf(tx, jobId) : Math.max(0, window.in_flight - move.finished);
    const room = window.cap - before;
    const ids = room > 0 ? await unparkObjects(tx, jobId, room) : [];
    await tx`UPDATE harvest_job_window SET in_flight = ${before + ids.length}, moved = now() WHERE job_id = ${jobId}`;
    if (move.recount && before !== window.in_flight) {
      log.info("Window of job {jobId} held {held} object(s), not {thought}", {
        jobId,
        held: before,
        thought: window.in_flight,
      });
    }
    return ids;
  });
  await publishFast(services, ids);
  return ids.length;
}

async function publishFast(services: Services, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await services.queue.publish("fetch", ids.map((id) => JSON.stringify({ harvest_object_id: id })), "fast");
}
