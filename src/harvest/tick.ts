import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import type { Queryable } from "../db/mod.ts";
import { harvestTime } from "./dicts.ts";
import type { JobRow } from "./jobs.ts";
import { completeJob, JobExistsError, startJob } from "./lifecycle.ts";
import { saveGatherError, saveObjectError } from "./pipeline.ts";

const log = getLogger(["harvest", "tick"]);

/** What one tick did, for the CLI and tests. */
export interface TickReport {
  started: string[];
  finished: string[];
  timedOut: string[];
  requeuedJobs: number;
  requeuedObjects: number;
}

/** The next run after `now` for a frequency (reference §4); undefined for MANUAL. */
export function nextRun(frequency: string, now: Date): Date | undefined {
  const day = 86_400_000;
  switch (frequency) {
    case "ALWAYS":
      return now;
    case "DAILY":
      return new Date(now.getTime() + day);
    case "WEEKLY":
      return new Date(now.getTime() + 7 * day);
    case "BIWEEKLY":
      return new Date(now.getTime() + 14 * day);
    case "MONTHLY": {
      const days = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 0)).getUTCDate();
      return new Date(now.getTime() + days * day);
    }
    default:
      return undefined;
  }
}

async function startDueSources(services: Services, report: TickReport): Promise<void> {
  const { sql } = services;
  const due = await sql<{ id: string; name: string; frequency: string }[]>`
    SELECT id, name, frequency FROM harvest_source
    WHERE state = 'active' AND frequency <> 'MANUAL' AND (next_run IS NULL OR next_run <= now())
    ORDER BY next_run NULLS FIRST, created`;
  for (const source of due) {
    try {
      const job = await startJob(services, source.id);
      report.started.push(job.id);
    } catch (error) {
      if (!(error instanceof JobExistsError)) {
        log.error("Cannot start a job for source {name}: {error}", { name: source.name, error: String(error) });
      }
    }
    await sql`UPDATE harvest_source SET next_run = ${nextRun(source.frequency, new Date()) ?? null}
      WHERE id = ${source.id}`;
  }
}

async function lastActivity(sql: Queryable, job: JobRow): Promise<Date> {
  const [row] = await sql<{ at: Date }[]>`
    SELECT greatest(${job.created}::timestamptz, ${job.gather_started}::timestamptz,
      ${job.gather_finished}::timestamptz,
      (SELECT greatest(max(gathered), max(fetch_started), max(import_finished)) FROM harvest_object
        WHERE harvest_job_id = ${job.id})) AS at`;
  return row!.at;
}

async function timeOut(services: Services, job: JobRow, minutes: number, last: Date): Promise<void> {
  const { sql } = services;
  await sql.begin(async (tx) => {
    const done = await tx`UPDATE harvest_job SET status = 'Finished', finished = now(), gather_lease_until = NULL
      WHERE id = ${job.id} AND status = 'Running' RETURNING id`;
    if (done.length === 0) return;
    await saveGatherError(
      tx,
      job.id,
      `Job ${job.id} timeout (${minutes} minutes)\nJob created: ${harvestTime(job.created)}\n` +
        `Job gather finished: ${harvestTime(job.gather_finished) ?? "not yet"}\n` +
        `Job last action time: ${harvestTime(last)}`,
    );
    const left = await tx<{ id: string }[]>`
      UPDATE harvest_object SET state = 'ERROR', report_status = 'errored', lease_until = NULL
      WHERE harvest_job_id = ${job.id} AND state IN ('WAITING', 'FETCH', 'IMPORT') RETURNING id`;
    for (const o of left) {
      await saveObjectError(tx, o.id, `The job timed out after ${minutes} minutes without activity`, "Fetch");
    }
  });
}

/**
 * Re-publishes work whose message was lost: gathers of Running jobs that nobody holds and that were
 * queued longer ago than the visibility timeout; and unfinished objects nobody holds, once the
 * fetch queue is empty (so objects merely waiting their turn are never queued twice).
 */
async function recoverLostWork(services: Services, report: TickReport): Promise<void> {
  const { sql, queue } = services;
  const visibility = services.config.values["ckan.harvest.mq.visibility_timeout"];
  const jobs = await sql<{ id: string }[]>`
    UPDATE harvest_job SET queued_at = now()
    WHERE status = 'Running' AND gather_finished IS NULL
      AND (gather_lease_until IS NULL OR gather_lease_until < now())
      AND coalesce(queued_at, created) < now() - make_interval(secs => ${visibility})
    RETURNING id`;
  if (jobs.length > 0) {
    await queue.publish("gather", jobs.map((j) => JSON.stringify({ harvest_job_id: j.id })));
    report.requeuedJobs += jobs.length;
    log.warning("Re-queued the gather of {n} job(s) whose message was lost", { n: jobs.length });
  }
  if (await queue.depth("fetch") > 0) return;
  for (;;) {
    const objects = await sql<{ id: string }[]>`
      UPDATE harvest_object SET queued_at = now() WHERE id IN (
        SELECT o.id FROM harvest_object o JOIN harvest_job j ON j.id = o.harvest_job_id
        WHERE o.state IN ('WAITING', 'FETCH', 'IMPORT') AND j.status = 'Running'
          AND (o.lease_until IS NULL OR o.lease_until < now())
          AND o.queued_at < now() - make_interval(secs => ${visibility})
        LIMIT 1000)
      RETURNING id`;
    if (objects.length === 0) break;
    await queue.publish("fetch", objects.map((o) => JSON.stringify({ harvest_object_id: o.id })));
    report.requeuedObjects += objects.length;
  }
  if (report.requeuedObjects > 0) {
    log.warning("Re-queued {n} object(s) whose message was lost", { n: report.requeuedObjects });
  }
}

/**
 * The periodic tick (`harvester run`, `harvest_jobs_run`): start due sources, finish complete jobs,
 * time out stale ones, and re-queue lost work.
 */
export async function tick(services: Services, options: { sourceId?: string } = {}): Promise<TickReport> {
  const report: TickReport = { started: [], finished: [], timedOut: [], requeuedJobs: 0, requeuedObjects: 0 };
  const { sql } = services;
  if (!options.sourceId) await startDueSources(services, report);
  const running = await sql<JobRow[]>`
    SELECT * FROM harvest_job WHERE status = 'Running'
      AND (${options.sourceId ?? null}::text IS NULL OR source_id = ${options.sourceId ?? null})`;
  const timeout = services.config.values["ckan.harvest.timeout"];
  for (const job of running) {
    if (timeout !== undefined) {
      const last = await lastActivity(sql, job);
      if (Date.now() - last.getTime() > timeout * 60_000) {
        await timeOut(services, job, timeout, last);
        report.timedOut.push(job.id);
        continue;
      }
    }
    if (await completeJob(services, job.id)) report.finished.push(job.id);
  }
  await recoverLostWork(services, report);
  return report;
}

/** Deletes database log rows older than `ckan.harvest.log_timeframe` days; returns how many. */
export async function cleanHarvestLog(services: Services): Promise<number> {
  const days = services.config.values["ckan.harvest.log_timeframe"];
  const rows = await services.sql`
    DELETE FROM harvest_log WHERE created <= now() - make_interval(days => ${days}) RETURNING id`;
  return rows.length;
}
