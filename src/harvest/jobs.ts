import type { Queryable } from "../db/mod.ts";
import { NotFoundError } from "../errors/mod.ts";
import { emptyStats, harvestTime, type JobStats, REPORT_STATUSES } from "./dicts.ts";

/** A `harvest_job` row. */
export interface JobRow {
  id: string;
  source_id: string;
  status: "New" | "Running" | "Finished" | "Aborted";
  created: Date;
  gather_started: Date | null;
  gather_finished: Date | null;
  finished: Date | null;
}

export async function getJob(sql: Queryable, id: string): Promise<JobRow> {
  const [job] = await sql<JobRow[]>`SELECT * FROM harvest_job WHERE id = ${id}`;
  if (!job) throw new NotFoundError(`Harvest job not found: ${id}`);
  return job;
}

/**
 * The stats of each job, as the original computes them: counts by report status; `errored` replaced
 * by the number of distinct objects with error rows when there are any; plus the gather errors.
 */
export async function jobStats(sql: Queryable, allJobIds: string[]): Promise<Map<string, JobStats>> {
  const out = new Map(allJobIds.map((id) => [id, emptyStats()]));
  if (allJobIds.length === 0) return out;
  // Reports frozen by a history clear-up are read as frozen: the objects they counted may be gone.
  const frozen = await sql<{ id: string; stats: JobStats }[]>`
    SELECT id, stats FROM harvest_job WHERE id = ANY(${allJobIds}) AND stats IS NOT NULL`;
  for (const f of frozen) out.set(f.id, { ...emptyStats(), ...f.stats });
  const frozenIds = new Set(frozen.map((f) => f.id));
  const jobIds = allJobIds.filter((id) => !frozenIds.has(id));
  if (jobIds.length === 0) return out;
  const counts = await sql<{ job: string; report_status: string | null; n: number }[]>`
    SELECT harvest_job_id AS job, report_status, count(*)::int AS n FROM harvest_object
    WHERE harvest_job_id = ANY(${jobIds}) AND report_status IS NOT NULL
    GROUP BY harvest_job_id, report_status`;
  for (const c of counts) {
    const stats = out.get(c.job)!;
    if ((REPORT_STATUSES as readonly string[]).includes(c.report_status!)) {
      stats[c.report_status as keyof JobStats] = c.n;
    }
  }
  for (const [job, errored] of await errorCounts(sql, jobIds)) out.get(job)!.errored = errored;
  return out;
}

/**
 * The `errored` figure of jobs' stats, the original's way: objects with errors (warnings aside),
 * plus gather errors. Only jobs with any are in the map.
 */
export async function errorCounts(sql: Queryable, jobIds: string[]): Promise<Map<string, number>> {
  if (jobIds.length === 0) return new Map();
  const rows = await sql<{ job: string; n: number }[]>`
    SELECT job, sum(n)::int AS n FROM (
      SELECT o.harvest_job_id AS job, count(DISTINCT e.harvest_object_id) AS n
      FROM harvest_object_error e JOIN harvest_object o ON o.id = e.harvest_object_id
      WHERE o.harvest_job_id = ANY(${jobIds}) AND e.stage NOT ILIKE '%warning' GROUP BY o.harvest_job_id
      UNION ALL
      SELECT harvest_job_id, count(*) FROM harvest_gather_error WHERE harvest_job_id = ANY(${jobIds})
      GROUP BY harvest_job_id) x
    GROUP BY job`;
  return new Map(rows.map((r) => [r.job, r.n]));
}

/** Error messages of a job grouped by message, most frequent first. */
export async function errorSummaries(
  sql: Queryable,
  jobId: string,
  limit = 20,
): Promise<{ object_error_summary: unknown[]; gather_error_summary: unknown[] }> {
  const object = await sql`
    SELECT e.message, count(*)::int AS error_count FROM harvest_object_error e
    JOIN harvest_object o ON o.id = e.harvest_object_id WHERE o.harvest_job_id = ${jobId}
      AND e.stage NOT ILIKE '%warning'
    GROUP BY e.message ORDER BY error_count DESC, e.message LIMIT ${limit}`;
  const gather = await sql`
    SELECT message, count(*)::int AS error_count FROM harvest_gather_error WHERE harvest_job_id = ${jobId}
    GROUP BY message ORDER BY error_count DESC, message LIMIT ${limit}`;
  return { object_error_summary: [...object], gather_error_summary: [...gather] };
}

/** Job dicts in the original's shape: every column, `stats`, and optionally the error summaries. */
export async function jobDicts(
  sql: Queryable,
  jobs: JobRow[],
  options: { summaries?: boolean } = {},
): Promise<Record<string, unknown>[]> {
  const stats = await jobStats(sql, jobs.map((j) => j.id));
  const out: Record<string, unknown>[] = [];
  for (const j of jobs) {
    const dict: Record<string, unknown> = {
      id: j.id,
      source_id: j.source_id,
      status: j.status,
      created: harvestTime(j.created),
      gather_started: harvestTime(j.gather_started),
      gather_finished: harvestTime(j.gather_finished),
      finished: harvestTime(j.finished),
      stats: stats.get(j.id),
    };
    if (options.summaries) {
      Object.assign(dict, await errorSummaries(sql, j.id));
      const [progress] = await sql<{ total: number; done: number }[]>`
        SELECT count(*)::int AS total, count(*) FILTER (WHERE state IN ('COMPLETE', 'ERROR'))::int AS done
        FROM harvest_object WHERE harvest_job_id = ${j.id}`;
      dict.objects_total = progress!.total;
      dict.objects_done = progress!.done;
    }
    out.push(dict);
  }
  return out;
}

/**
 * The baseline of an incremental harvest: the newest other Finished job of the source that had a
 * gather, no gather errors, and no object that ended non-current with a status other than
 * "not modified" (reference §5.2), and that ran with the same source config: when the config
 * changed, every dataset may come out differently, so the harvest is a full one.
 */
export async function lastErrorFreeJob(
  sql: Queryable,
  sourceId: string,
  exceptJobId: string,
  configHash: string,
): Promise<{ id: string; gather_started: Date } | undefined> {
  const [job] = await sql<{ id: string; gather_started: Date }[]>`
    SELECT j.id, j.gather_started FROM harvest_job j
    WHERE j.source_id = ${sourceId} AND j.id <> ${exceptJobId} AND j.status = 'Finished'
      AND j.gather_started IS NOT NULL AND j.config_hash = ${configHash}
      AND NOT EXISTS (SELECT 1 FROM harvest_gather_error g WHERE g.harvest_job_id = j.id)
      AND NOT EXISTS (SELECT 1 FROM harvest_object o WHERE o.harvest_job_id = j.id AND NOT o.current
        AND o.report_status IS NOT NULL AND o.report_status NOT IN ('not modified', 'deleted'))
    ORDER BY j.gather_started DESC LIMIT 1`;
  return job;
}

/**
 * Marks a Running job Finished when its gather is over and no object is outside COMPLETE/ERROR;
 * `finished` is the last import time (or gather end). Returns true when this call finished it.
 */
export async function finishJobIfComplete(sql: Queryable, jobId: string): Promise<boolean> {
  const rows = await sql`
    UPDATE harvest_job j SET status = 'Finished',
      finished = coalesce(
        (SELECT max(import_finished) FROM harvest_object WHERE harvest_job_id = j.id), j.gather_finished)
    WHERE j.id = ${jobId} AND j.status = 'Running' AND j.gather_finished IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM harvest_object o
        WHERE o.harvest_job_id = j.id AND o.state NOT IN ('COMPLETE', 'ERROR'))
    RETURNING j.id`;
  return rows.length > 0;
}
