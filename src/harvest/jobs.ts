import { PROCESS_ID } from "../db/consumers.ts";
import type { Queryable } from "../db/mod.ts";
import { jobTallies, type JobTally } from "./tallies.ts";
import { NotFoundError } from "../errors/mod.ts";
import { emptyStats, harvestTime, type JobStats, REPORT_STATUSES } from "./dicts.ts";
import { JOB_TRANSITIONS, type JobStatus, type JobTransition, UNFINISHED } from "./states.ts";
import type { SourceRow } from "./sources.ts";
import type { Validators } from "../http/mod.ts";

/** A `harvest_job` row. */
export interface JobRow {
  id: string;
  source_id: string;
  status: JobStatus;
  created: Date;
  gather_started: Date | null;
  gather_finished: Date | null;
  finished: Date | null;
  documents_not_modified?: number;
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
export async function jobStats(
  sql: Queryable,
  allJobIds: string[],
  /** The jobs' counters when the caller has read them already. */
  read?: Map<string, JobTally>,
): Promise<Map<string, JobStats>> {
  const out = new Map(allJobIds.map((id) => [id, emptyStats()]));
  if (allJobIds.length === 0) return out;
  // Reports frozen by a history clear-up are read as frozen: the objects they counted may be gone.
  const frozen = await sql<{ id: string; stats: JobStats }[]>`
    SELECT id, stats FROM harvest_job WHERE id = ANY(${allJobIds}) AND stats IS NOT NULL`;
  for (const f of frozen) out.set(f.id, { ...emptyStats(), ...f.stats });
  const frozenIds = new Set(frozen.map((f) => f.id));
  const jobIds = allJobIds.filter((id) => !frozenIds.has(id));
  if (jobIds.length === 0) return out;
  // Counted as objects change (harvest/tallies.ts), not over the job's objects on every read.
  const tallies = read ?? await jobTallies(sql, jobIds);
  for (const job of jobIds) {
    const stats = out.get(job)!;
    const tally = tallies.get(job)!;
    for (const [status, n] of tally.byStatus) {
      if ((REPORT_STATUSES as readonly string[]).includes(status)) stats[status as keyof JobStats] = n;
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
  const tallies = await jobTallies(sql, jobs.map((j) => j.id));
  const stats = await jobStats(sql, jobs.map((j) => j.id), tallies);
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
      documents_not_modified: j.documents_not_modified ?? 0,
    };
    if (options.summaries) {
      Object.assign(dict, await errorSummaries(sql, j.id));
      const progress = tallies.get(j.id)!;
      dict.objects_total = progress.total;
      dict.objects_done = progress.done;
    }
    out.push(dict);
  }
  return out;
}

/** How many records the source's last finished job had (its objects), from the job counters; none if it never ran. */
export async function lastJobSize(sql: Queryable, sourceId: string): Promise<number | undefined> {
  const [row] = await sql<{ n: number }[]>`
    SELECT (SELECT coalesce(sum(t.objects), 0)::int FROM harvest_job_tally t WHERE t.job_id = j.id) AS n
    FROM harvest_job j WHERE j.source_id = ${sourceId} AND j.status = 'Finished' ORDER BY j.created DESC LIMIT 1`;
  return row?.n;
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
    UPDATE harvest_job j SET status = ${to("finish")},
      finished = coalesce(
        (SELECT max(import_finished) FROM harvest_object WHERE harvest_job_id = j.id), j.gather_finished)
    WHERE j.id = ${jobId} AND j.status = ANY(${from("finish")}) AND j.gather_finished IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM harvest_object o
        WHERE o.harvest_job_id = ${jobId} AND o.state = ANY(${UNFINISHED as string[]}))
    RETURNING j.id`;
  return rows.length > 0;
}

const from = (t: JobTransition) => JOB_TRANSITIONS[t].from as readonly string[];
const to = (t: JobTransition) => JOB_TRANSITIONS[t].to as string;

/** Inserts a New job; the partial unique index refuses a second pending job of one source. */
export async function insertJob(sql: Queryable, sourceId: string): Promise<JobRow> {
  const [job] = await sql<JobRow[]>`
    INSERT INTO harvest_job (id, source_id, status) VALUES (${crypto.randomUUID()}, ${sourceId}, 'New') RETURNING *`;
  return job!;
}

/** The `queue` transition; undefined when the job is in no state to be queued. */
export async function markQueued(sql: Queryable, jobId: string): Promise<JobRow | undefined> {
  const [running] = await sql<JobRow[]>`
    UPDATE harvest_job SET status = ${to("queue")} WHERE id = ${jobId} AND status = ANY(${from("queue")}) RETURNING *`;
  return running;
}

/** Removes a job that never started (its queue message could not be sent). */
export async function deleteUnstarted(sql: Queryable, jobId: string): Promise<void> {
  await sql`DELETE FROM harvest_job WHERE id = ${jobId} AND gather_started IS NULL`;
}

/** The `abort` transition: Finished, keeping an earlier finish time. */
export async function markAborted(sql: Queryable, jobId: string): Promise<boolean> {
  const rows = await sql`UPDATE harvest_job SET status = ${to("abort")}, finished = coalesce(finished, now())
    WHERE id = ${jobId} AND status = ANY(${from("abort")}) RETURNING id`;
  return rows.length > 0;
}

/** The `cancel` transition for the New jobs of a source made inactive. */
export async function cancelNewJobs(sql: Queryable, sourceId: string): Promise<void> {
  await sql`UPDATE harvest_job SET status = ${to("cancel")}, finished = now()
    WHERE source_id = ${sourceId} AND status = ANY(${from("cancel")})`;
}

/** The `finish` transition of a job that timed out or cannot be gathered (its lease released). */
export async function markFinished(
  sql: Queryable,
  jobId: string,
  options: { gatherFinished?: boolean } = {},
): Promise<boolean> {
  const rows = await sql`UPDATE harvest_job SET status = ${to("finish")}, finished = now(), gather_lease_until = NULL,
      gather_finished = CASE WHEN ${options.gatherFinished ?? false} THEN now() ELSE gather_finished END
    WHERE id = ${jobId} AND status = ANY(${from("finish")}) RETURNING id`;
  return rows.length > 0;
}

/** A job with its source, for the gather stage. */
export async function jobWithSource(
  sql: Queryable,
  jobId: string,
): Promise<(JobRow & { source: SourceRow }) | undefined> {
  const [row] = await sql<(JobRow & { source: SourceRow })[]>`
    SELECT j.*, row_to_json(s.*) AS source FROM harvest_job j JOIN harvest_source s ON s.id = j.source_id
    WHERE j.id = ${jobId}`;
  return row && { ...row, source: { ...row.source, created: new Date(row.source.created) } };
}

/**
 * Claims a Running job's gather for `lease` seconds, recording the config it runs with; false when it
 * is held elsewhere or already gathered (a duplicate gather message, or a second consumer).
 */
export async function claimGather(sql: Queryable, jobId: string, configHash: string, lease: number): Promise<boolean> {
  const claimed = await sql`
    UPDATE harvest_job SET gather_started = coalesce(gather_started, now()), config_hash = ${configHash},
      gather_lease_until = now() + make_interval(secs => ${lease}), gather_leased_by = ${PROCESS_ID}
    WHERE id = ${jobId} AND status = 'Running' AND gather_finished IS NULL
      AND (gather_lease_until IS NULL OR gather_lease_until < now())
    RETURNING id`;
  return claimed.length > 0;
}

/** Releases the gathers held by processes that stopped reporting alive; answers the jobs to queue again. */
export async function releaseGathersOf(sql: Queryable, holders: string[]): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    UPDATE harvest_job SET gather_lease_until = NULL, gather_leased_by = NULL, queued_at = now()
    WHERE gather_leased_by = ANY(${holders}) AND status = 'Running' AND gather_finished IS NULL
      AND gather_lease_until > now()
    RETURNING id`;
  return rows.map((r) => r.id);
}

export async function renewGatherLease(sql: Queryable, jobId: string, lease: number): Promise<void> {
  await sql`UPDATE harvest_job SET gather_lease_until = now() + make_interval(secs => ${lease}) WHERE id = ${jobId}`;
}

/** Gives the gather up to be run again (a lost connection, a shutdown). */
export async function releaseGather(sql: Queryable, jobId: string): Promise<void> {
  // Only this process's own lease: a thawed process must not end the lease of the one that took over.
  await sql`UPDATE harvest_job SET gather_lease_until = NULL WHERE id = ${jobId} AND gather_leased_by = ${PROCESS_ID}`;
}

export async function markGathered(sql: Queryable, jobId: string): Promise<void> {
  await sql`UPDATE harvest_job SET gather_finished = now(), gather_lease_until = NULL WHERE id = ${jobId}`;
}

export async function saveGatherError(sql: Queryable, jobId: string, message: string): Promise<void> {
  await sql`INSERT INTO harvest_gather_error (id, harvest_job_id, message)
    VALUES (${crypto.randomUUID()}, ${jobId}, ${message})`;
}

/** A source's New or Running job, if any. */
export async function pendingJob(sql: Queryable, sourceId: string): Promise<JobRow | undefined> {
  const [pending] = await sql<JobRow[]>`
    SELECT * FROM harvest_job WHERE source_id = ${sourceId} AND status IN ('New', 'Running')`;
  return pending;
}

export async function hasRunningJob(sql: Queryable, sourceId: string): Promise<boolean> {
  return (await sql`SELECT 1 FROM harvest_job WHERE source_id = ${sourceId} AND status = 'Running'`).length > 0;
}

/** Running jobs, newest first, optionally of one source. */
export async function runningJobs(sql: Queryable, sourceId?: string): Promise<JobRow[]> {
  return await sql<JobRow[]>`
    SELECT * FROM harvest_job WHERE status = 'Running'
      AND (${sourceId ?? null}::text IS NULL OR source_id = ${sourceId ?? null})
    ORDER BY created DESC`;
}

/** Running jobs with their source's frequency and name (`harvest_abort_failed_jobs`). */
export async function runningJobsWithSource(
  sql: Queryable,
): Promise<{ id: string; created: Date; frequency: string; source_id: string; name: string }[]> {
  return await sql<{ id: string; created: Date; frequency: string; source_id: string; name: string }[]>`
    SELECT j.id, j.created, s.frequency, s.id AS source_id, s.name FROM harvest_job j
    JOIN harvest_source s ON s.id = j.source_id WHERE j.status = 'Running'`;
}

/** The newest job of the source an id or a name denotes. */
export async function newestJobOfSource(sql: Queryable, key: string): Promise<JobRow | undefined> {
  const [job] = await sql<JobRow[]>`
    SELECT j.* FROM harvest_job j JOIN harvest_source s ON s.id = j.source_id
    WHERE s.id = ${key} OR s.name = ${key} ORDER BY j.created DESC LIMIT 1`;
  return job;
}

/**
 * Jobs newest first, a page at a time: of one source, or (`orgIds`) of the sources of those
 * organizations; `orgIds` undefined means every job.
 */
export async function listJobs(
  sql: Queryable,
  filter: {
    sourceId: string | null;
    status: string | null;
    orgIds: string[] | undefined;
    limit: number;
    offset: number;
  },
): Promise<JobRow[]> {
  const all = filter.orgIds === undefined;
  return await sql<JobRow[]>`
    SELECT j.* FROM harvest_job j JOIN harvest_source s ON s.id = j.source_id
    WHERE (${filter.sourceId}::text IS NULL OR j.source_id = ${filter.sourceId})
      AND (${filter.status}::text IS NULL OR j.status = ${filter.status})
      AND (${all} OR s.owner_org = ANY(${filter.orgIds ?? []}))
    ORDER BY j.created DESC, j.id LIMIT ${filter.limit} OFFSET ${filter.offset}`;
}

/** The last sign of life of a job: its own times and its objects'. */
export async function lastActivity(sql: Queryable, job: JobRow): Promise<Date> {
  const [row] = await sql<{ at: Date }[]>`
    SELECT greatest(${job.created}::timestamptz, ${job.gather_started}::timestamptz,
      ${job.gather_finished}::timestamptz,
      (SELECT greatest(max(gathered), max(fetch_started), max(import_finished)) FROM harvest_object
        WHERE harvest_job_id = ${job.id})) AS at`;
  return row!.at;
}

/**
 * Marks for re-queueing the gathers of Running jobs nobody holds that were queued longer ago than
 * `visibility` seconds; answers their ids.
 */
export async function requeueLostGathers(sql: Queryable, visibility: number): Promise<string[]> {
  const jobs = await sql<{ id: string }[]>`
    UPDATE harvest_job SET queued_at = now()
    WHERE status = 'Running' AND gather_finished IS NULL
      AND (gather_lease_until IS NULL OR gather_lease_until < now())
      AND coalesce(queued_at, created) < now() - make_interval(secs => ${visibility})
    RETURNING id`;
  return jobs.map((j) => j.id);
}

/** Deletes every job of a source (their objects and errors go with them). */
export async function deleteSourceJobs(sql: Queryable, sourceId: string): Promise<void> {
  await sql`DELETE FROM harvest_job WHERE source_id = ${sourceId}`;
}

/** Deletes a source's finished jobs that hold no current object; answers how many. */
export async function deleteFinishedJobs(sql: Queryable, sourceId: string): Promise<number> {
  const deleted = await sql`
    DELETE FROM harvest_job j WHERE j.source_id = ${sourceId} AND j.status <> 'Running'
      AND NOT EXISTS (SELECT 1 FROM harvest_object o WHERE o.harvest_job_id = j.id AND o.current)
    RETURNING j.id`;
  return deleted.length;
}

/** Freezes the stats of a source's finished jobs before their objects are cleared away. */
export async function freezeStats(sql: Queryable, sourceId: string): Promise<void> {
  const kept = await sql<{ id: string }[]>`
    SELECT id FROM harvest_job WHERE source_id = ${sourceId} AND status <> 'Running' AND stats IS NULL`;
  await freeze(sql, kept.map((k) => k.id));
}

/** Stores the current stats of these jobs as their frozen report. */
async function freeze(sql: Queryable, jobIds: string[]): Promise<void> {
  const stats = await jobStats(sql, jobIds);
  for (const [id, s] of stats) await sql`UPDATE harvest_job SET stats = ${sql.json(s as never)} WHERE id = ${id}`;
}

/** The newest job of a source, by creation. */
export async function newestJobId(sql: Queryable, sourceId: string): Promise<string | undefined> {
  const [newest] = await sql<{ id: string }[]>`
    SELECT id FROM harvest_job WHERE source_id = ${sourceId} ORDER BY created DESC, id LIMIT 1`;
  return newest?.id;
}

/** Jobs by status, for the metrics. */
export async function jobCountsByStatus(sql: Queryable): Promise<Map<string, number>> {
  const rows = await sql<
    { status: string; n: number }[]
  >`SELECT status, count(*)::int AS n FROM harvest_job GROUP BY status`;
  return new Map(rows.map((r) => [r.status, r.n]));
}

/** New or Running jobs, of one source or all. */
export async function waitingJobCount(sql: Queryable, sourceId?: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM harvest_job WHERE status IN ('New', 'Running')
      AND (${sourceId ?? null}::text IS NULL OR source_id = ${sourceId ?? null})`;
  return row!.n;
}

/**
 * Deletes a source's finished jobs beyond the `keep` newest, except those holding a current object
 * (their objects and errors go with them); answers how many.
 */
export async function deleteJobsBeyond(sql: Queryable, sourceId: string, keep: number): Promise<number> {
  const deleted = await sql`
    DELETE FROM harvest_job j WHERE j.source_id = ${sourceId} AND j.status IN ('Finished', 'Aborted')
      AND j.id NOT IN (SELECT id FROM harvest_job WHERE source_id = ${sourceId} AND status IN ('Finished', 'Aborted')
        ORDER BY created DESC LIMIT ${keep})
      AND NOT EXISTS (SELECT 1 FROM harvest_object o WHERE o.harvest_job_id = j.id AND o.current)
    RETURNING j.id`;
  return deleted.length;
}

/** Freezes the stats of a source's finished jobs that have superseded objects older than `days`. */
export async function freezeStatsOfAging(sql: Queryable, sourceId: string, days: number): Promise<void> {
  const jobs = await sql<{ id: string }[]>`
    SELECT DISTINCT j.id FROM harvest_job j JOIN harvest_object o ON o.harvest_job_id = j.id
    WHERE j.source_id = ${sourceId} AND j.status <> 'Running' AND j.stats IS NULL AND NOT o.current
      AND o.gathered < now() - make_interval(days => ${days})`;
  await freeze(sql, jobs.map((j) => j.id));
}

/** The documents (URL → validators) a job's gather read. */
export async function jobDocuments(sql: Queryable, jobId: string): Promise<Record<string, Validators>> {
  const [row] = await sql<{ documents: Record<string, Validators> | null }[]>`
    SELECT documents FROM harvest_job WHERE id = ${jobId}`;
  return row?.documents ?? {};
}

/** Records the documents a gather read and how many the remote answered 304 for. */
export async function saveJobDocuments(
  sql: Queryable,
  jobId: string,
  documents: Record<string, Validators>,
  notModified: number,
): Promise<void> {
  await sql`UPDATE harvest_job SET documents = ${sql.json(documents as never)}, documents_not_modified = ${notModified}
    WHERE id = ${jobId}`;
}

/**
 * The source's previous finished job when it went without any error (no gather error, no errored
 * object) and ran with the same config: the only one whose documents may be trusted for a
 * conditional request. After errors, the next run reads everything again.
 */
export async function previousCleanJob(
  sql: Queryable,
  sourceId: string,
  exceptJobId: string,
  configHash: string,
): Promise<string | undefined> {
  const [job] = await sql<{ id: string; config_hash: string | null; clean: boolean }[]>`
    SELECT j.id, j.config_hash,
      NOT EXISTS (SELECT 1 FROM harvest_gather_error g WHERE g.harvest_job_id = j.id)
        AND NOT EXISTS (SELECT 1 FROM harvest_object o WHERE o.harvest_job_id = j.id AND o.report_status = 'errored')
        AS clean
    FROM harvest_job j
    WHERE j.source_id = ${sourceId} AND j.id <> ${exceptJobId} AND j.status = 'Finished' AND j.gather_finished IS NOT NULL
    ORDER BY j.gather_started DESC NULLS LAST LIMIT 1`;
  return job && job.clean && job.config_hash === configHash ? job.id : undefined;
}
