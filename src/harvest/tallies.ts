/**
 * The counters migration 0013 keeps as objects and datasets change: a source's public, active
 * datasets and a job's objects by state and report status. Triggers append signed deltas (one row per
 * counter a statement moves, so writers never wait on each other); reading sums a counter's rows and
 * folds them into one when they have grown many, which keeps every read a few index entries long.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Queryable } from "../db/mod.ts";

const log = getLogger(["harvest", "tallies"]);

/** Delta rows a counter may have before a read folds them into one. */
const FOLD_AFTER = 64;

async function foldSources(sql: Queryable, sourceIds: string[]): Promise<void> {
  await sql`
    WITH gone AS (DELETE FROM harvest_source_tally WHERE source_id = ANY(${sourceIds}) RETURNING *)
    INSERT INTO harvest_source_tally (source_id, datasets)
    SELECT source_id, sum(datasets) FROM gone GROUP BY 1 HAVING sum(datasets) <> 0`;
}

async function foldJobs(sql: Queryable, jobIds: string[]): Promise<void> {
  await sql`
    WITH gone AS (DELETE FROM harvest_job_tally WHERE job_id = ANY(${jobIds}) RETURNING *)
    INSERT INTO harvest_job_tally (job_id, state, report_status, objects)
    SELECT job_id, state, report_status, sum(objects) FROM gone GROUP BY 1, 2, 3 HAVING sum(objects) <> 0`;
}

/** Folding is an optimisation: one that meets a concurrent fold (a deadlock) is simply left for later. */
async function fold(what: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    log.debug("Folding the {what} counters failed: {error}", { what, error: String(error) });
  }
}

/** The public, active datasets each source keeps in the catalog (`status.total_datasets`). */
export async function sourceDatasetCounts(sql: Queryable, sourceIds: string[]): Promise<Map<string, number>> {
  if (sourceIds.length === 0) return new Map();
  const rows = await sql<{ id: string; n: number; deltas: number }[]>`
    SELECT source_id AS id, sum(datasets)::int AS n, count(*)::int AS deltas FROM harvest_source_tally
    WHERE source_id = ANY(${sourceIds}) GROUP BY source_id`;
  const many = rows.filter((r) => r.deltas > FOLD_AFTER).map((r) => r.id);
  if (many.length > 0) await fold("source", () => foldSources(sql, many));
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** A job's objects by state and report status, as the counters hold them. */
export interface JobTally {
  byStatus: Map<string, number>;
  total: number;
  done: number;
}

export async function jobTallies(sql: Queryable, jobIds: string[]): Promise<Map<string, JobTally>> {
  const out = new Map<string, JobTally>(jobIds.map((id) => [id, { byStatus: new Map(), total: 0, done: 0 }]));
  if (jobIds.length === 0) return out;
  const rows = await sql<{ job: string; state: string; report_status: string | null; n: number; deltas: number }[]>`
    SELECT job_id AS job, state, report_status, sum(objects)::int AS n, count(*)::int AS deltas
    FROM harvest_job_tally WHERE job_id = ANY(${jobIds}) GROUP BY 1, 2, 3`;
  const deltas = new Map<string, number>();
  for (const r of rows) {
    const t = out.get(r.job)!;
    t.total += r.n;
    if (r.state === "COMPLETE" || r.state === "ERROR") t.done += r.n;
    if (r.report_status !== null) t.byStatus.set(r.report_status, (t.byStatus.get(r.report_status) ?? 0) + r.n);
    deltas.set(r.job, (deltas.get(r.job) ?? 0) + r.deltas);
  }
  const many = [...deltas].filter(([, n]) => n > FOLD_AFTER).map(([id]) => id);
  if (many.length > 0) await fold("job", () => foldJobs(sql, many));
  return out;
}

/** Removes what is left of the counters of deleted jobs and sources (their deltas sum to nothing). */
export async function pruneTallies(sql: Queryable): Promise<void> {
  await sql`DELETE FROM harvest_job_tally t WHERE NOT EXISTS (SELECT 1 FROM harvest_job j WHERE j.id = t.job_id)`;
  await sql`DELETE FROM harvest_source_tally t
    WHERE NOT EXISTS (SELECT 1 FROM harvest_source s WHERE s.id = t.source_id)`;
}
