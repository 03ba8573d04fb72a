import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import { harvestTime } from "./dicts.ts";
import { type JobRow, lastActivity, lastJobSize, requeueLostGathers, runningJobs } from "./jobs.ts";
import { recount } from "./window.ts";
import { completeJob, JobExistsError, startJob, timeOutJob } from "./lifecycle.ts";
import { requeueLostObjects } from "./objects.ts";
import { dueSources, setNextRun } from "./sources.ts";
import { cleanLog } from "../log/mod.ts";
import { pruneChanges } from "../db/changes.ts";

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
  const due = await dueSources(sql);
  const small = services.config.values["ckan.harvest.fast_lane.max_objects"];
  for (const source of due) {
    try {
      // A source whose last job was small (or that never ran) is gathered from the fast lane.
      const size = await lastJobSize(sql, source.id);
      const job = await startJob(services, source.id, size === undefined || size <= small ? "fast" : "bulk");
      report.started.push(job.id);
    } catch (error) {
      if (!(error instanceof JobExistsError)) {
        log.error("Cannot start a job for source {name}: {error}", { name: source.name, error: String(error) });
      }
    }
    await setNextRun(sql, source.id, nextRun(source.frequency, new Date()) ?? null);
  }
}

async function timeOut(services: Services, job: JobRow, minutes: number, last: Date): Promise<boolean> {
  return await timeOutJob(
    services,
    job,
    minutes,
    `Job ${job.id} timeout (${minutes} minutes)\nJob created: ${harvestTime(job.created)}\n` +
      `Job gather finished: ${harvestTime(job.gather_finished) ?? "not yet"}\n` +
      `Job last action time: ${harvestTime(last)}`,
  );
}

/**
 * Re-publishes work whose message was lost: gathers of Running jobs that nobody holds and that were
 * queued longer ago than the visibility timeout; and unfinished objects nobody holds, once the
 * fetch queue is empty (so objects merely waiting their turn are never queued twice).
 */
async function recoverLostWork(services: Services, report: TickReport): Promise<void> {
  const { sql, queue } = services;
  const visibility = services.config.values["ckan.harvest.mq.visibility_timeout"];
  const jobs = await requeueLostGathers(sql, visibility);
  if (jobs.length > 0) {
    await queue.publish("gather", jobs.map((id) => JSON.stringify({ harvest_job_id: id })), "fast");
    report.requeuedJobs += jobs.length;
    log.warning("Re-queued the gather of {n} job(s) whose message was lost", { n: jobs.length });
  }
  if (await queue.depth("fetch") > 0) return;
  for (;;) {
    const objects = await requeueLostObjects(sql, visibility);
    if (objects.length === 0) break;
    await queue.publish("fetch", objects.map((id) => JSON.stringify({ harvest_object_id: id })));
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
  const running = (await runningJobs(sql, options.sourceId)).toReversed();
  const timeout = services.config.values["ckan.harvest.timeout"];
  for (const job of running) {
    if (timeout !== undefined) {
      const last = await lastActivity(sql, job);
      if (Date.now() - last.getTime() > timeout * 60_000) {
        if (await timeOut(services, job, timeout, last)) report.timedOut.push(job.id);
        continue;
      }
    }
    if (await completeJob(services, job.id)) report.finished.push(job.id);
  }
  await recount(services);
  await recoverLostWork(services, report);
  // Noted changes would pile up in a deployment whose API server is not running.
  await pruneChanges(sql);
  return report;
}

/** Deletes database log rows older than `ckan.harvest.log_timeframe` days; returns how many. */
export async function cleanHarvestLog(services: Services): Promise<number> {
  const days = services.config.values["ckan.harvest.log_timeframe"];
  return await cleanLog(services.sql, days);
}
