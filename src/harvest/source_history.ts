/**
 * Clearing a source: its whole history (and the datasets it harvested), or only its finished history
 * with every dataset's link to its remote record kept. Core operations the actions call, made of
 * the table owners' verbs in one transaction.
 *
 * @module
 */
import { pruneTallies } from "./tallies.ts";
import type { Queryable } from "../db/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import type { Services } from "../services_type.ts";
import { purgePackages } from "../catalog/mod.ts";
import {
  deleteFinishedJobs,
  deleteJobsBeyond,
  deleteSourceJobs,
  freezeStats,
  freezeStatsOfAging,
  hasRunningJob,
} from "./jobs.ts";
import { deleteClearedObjects, deleteSupersededOlderThan, packagesOnlyOf } from "./objects.ts";
import { allSourceIds } from "./sources.ts";
import { cleanLog } from "../log/mod.ts";
import { dropSourceDeletions } from "./deletions.ts";

export async function refuseWhileRunning(sql: Queryable, sourceId: string, what: string): Promise<void> {
  if (await hasRunningJob(sql, sourceId)) {
    throw ValidationError.of("id", `The source has a running job; stop it (harvest_job_abort) before ${what}`);
  }
}

/**
 * Deletes a source's jobs, objects and errors, and purges the datasets only it harvested (never
 * those another source keeps current). Answers how many datasets went.
 */
export async function clearSource(services: Services, sourceId: string): Promise<number> {
  const { sql, target } = services;
  return await sql.begin(async (tx) => {
    const ids = await packagesOnlyOf(tx, sourceId);
    await dropSourceDeletions(tx, sourceId);
    await deleteSourceJobs(tx, sourceId);
    await purgePackages(tx, ids);
    for (const id of ids) await target?.remove(id);
    await pruneTallies(tx);
    return ids.length;
  });
}

/**
 * Deletes the finished history of a source and keeps every dataset's link to its remote record: the
 * current objects (and the jobs holding them) and running jobs stay.
 */
export async function clearSourceHistory(sql: Queryable, sourceId: string): Promise<number> {
  const deleted = await deleteFinishedJobs(sql, sourceId);
  // The jobs kept (they hold current objects) lose their other objects: freeze their reports first,
  // so "7 added, 2 errored" stays what it was. Objects with errors stay, for the report's error list.
  await freezeStats(sql, sourceId);
  await deleteClearedObjects(sql, sourceId);
  await pruneTallies(sql);
  return deleted;
}

export interface TrimReport {
  sources: number;
  jobs: number;
  objects: number;
  log_rows: number;
  keep_jobs: number;
  keep_days: number;
}

/**
 * Bounded history: for every source, the `ckan.harvest.history.keep_jobs` newest finished jobs and
 * `keep_days` days of superseded objects stay; older ones go, except anything that holds a dataset's
 * current object (the link to its remote record). Reports of jobs that lose objects are frozen first,
 * so their numbers do not change. The database log keeps `ckan.harvest.log_timeframe` days.
 */
export async function trimHistory(services: Services): Promise<TrimReport> {
  const v = services.config.values;
  const keepJobs = v["ckan.harvest.history.keep_jobs"];
  const keepDays = v["ckan.harvest.history.keep_days"];
  const report: TrimReport = { sources: 0, jobs: 0, objects: 0, log_rows: 0, keep_jobs: keepJobs, keep_days: keepDays };
  for (const id of await allSourceIds(services.sql)) {
    report.sources++;
    await services.sql.begin(async (tx) => {
      await freezeStatsOfAging(tx, id, keepDays);
      report.objects += await deleteSupersededOlderThan(tx, id, keepDays);
      report.jobs += await deleteJobsBeyond(tx, id, keepJobs);
    });
  }
  await pruneTallies(services.sql);
  report.log_rows = await cleanLog(services.sql, v["ckan.harvest.log_timeframe"]);
  return report;
}
