/**
 * Job reports, read across the harvest tables (jobs, gather errors, objects and their errors): what
 * the report, the dashboard, the status mails and `run-test` show. Reads only; the tables' owners
 * (jobs.ts, objects.ts) write them.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";
import type { JobRow } from "./jobs.ts";

export async function gatherErrorMessages(sql: Queryable, jobId: string): Promise<string[]> {
  const rows = await sql<{ message: string }[]>`
    SELECT message FROM harvest_gather_error WHERE harvest_job_id = ${jobId} ORDER BY created`;
  return rows.map((r) => r.message);
}

export async function gatherErrors(sql: Queryable, jobId: string): Promise<{ message: string; created: Date }[]> {
  return await sql<{ message: string; created: Date }[]>`
    SELECT message, created FROM harvest_gather_error WHERE harvest_job_id = ${jobId} ORDER BY created DESC, id`;
}

/** The number of object error rows of a job, warnings included. */
export async function objectErrorCount(sql: Queryable, jobId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM harvest_object_error e JOIN harvest_object o ON o.id = e.harvest_object_id
    WHERE o.harvest_job_id = ${jobId}`;
  return row!.n;
}

/** The 20 newest Finished jobs with errors (warnings aside). */
export async function recentFailures(sql: Queryable): Promise<JobRow[]> {
  return await sql<JobRow[]>`
    SELECT * FROM harvest_job j WHERE status = 'Finished' AND (
      EXISTS (SELECT 1 FROM harvest_gather_error g WHERE g.harvest_job_id = j.id)
      OR EXISTS (SELECT 1 FROM harvest_object o JOIN harvest_object_error e ON e.harvest_object_id = o.id
        WHERE o.harvest_job_id = j.id AND e.stage NOT ILIKE '%warning'))
    ORDER BY finished DESC NULLS LAST LIMIT 20`;
}

/** The objects of a job, counted, and how many are done (COMPLETE or ERROR). */
export async function jobProgress(sql: Queryable, jobId: string): Promise<{ total: number; done: number }> {
  const [progress] = await sql<{ total: number; done: number }[]>`
    SELECT count(*)::int AS total, count(*) FILTER (WHERE state IN ('COMPLETE', 'ERROR'))::int AS done
    FROM harvest_object WHERE harvest_job_id = ${jobId}`;
  return progress!;
}

/** The objects of a job with errors, by id, a page at a time, with their error rows. */
export async function objectsWithErrors(
  sql: Queryable,
  jobId: string,
  limit: number,
  offset: number,
): Promise<{
  objects: { id: string; guid: string; package_id: string | null; content: string | null }[];
  errors: { object: string; message: string; line: number | null; stage: string }[];
}> {
  const objects = await sql<{ id: string; guid: string; package_id: string | null; content: string | null }[]>`
    SELECT o.id, o.guid, o.package_id, o.content FROM harvest_object o WHERE o.harvest_job_id = ${jobId}
      AND EXISTS (SELECT 1 FROM harvest_object_error e WHERE e.harvest_object_id = o.id)
    ORDER BY o.id LIMIT ${limit} OFFSET ${offset}`;
  const errors = await sql<{ object: string; message: string; line: number | null; stage: string }[]>`
    SELECT harvest_object_id AS object, message, line, stage FROM harvest_object_error
    WHERE harvest_object_id = ANY(${objects.map((o) => o.id)}) ORDER BY created, id`;
  return { objects: [...objects], errors: [...errors] };
}

/**
 * The errors (warnings aside) of the first 20 objects with errors of a job, by guid, and the number
 * of such objects: what a status mail lists.
 */
export async function errorDigest(
  sql: Queryable,
  jobId: string,
): Promise<{ errors: { guid: string; message: string }[]; objects: number }> {
  const errors = await sql<{ guid: string; message: string }[]>`
    SELECT o.guid, e.message FROM harvest_object_error e JOIN harvest_object o ON o.id = e.harvest_object_id
    WHERE o.id IN (SELECT DISTINCT harvest_object_id FROM harvest_object_error e2 JOIN harvest_object o2
      ON o2.id = e2.harvest_object_id WHERE o2.harvest_job_id = ${jobId} AND e2.stage NOT ILIKE '%warning'
      ORDER BY harvest_object_id LIMIT 20)
      AND e.stage NOT ILIKE '%warning'
    ORDER BY o.guid, e.created`;
  const [count] = await sql<{ n: number }[]>`
    SELECT count(DISTINCT e.harvest_object_id)::int AS n FROM harvest_object_error e
    JOIN harvest_object o ON o.id = e.harvest_object_id WHERE o.harvest_job_id = ${jobId}
      AND e.stage NOT ILIKE '%warning'`;
  return { errors: [...errors], objects: count!.n };
}

/** The first 20 gather errors of a job, and how many there are. */
export async function gatherErrorDigest(sql: Queryable, jobId: string): Promise<{ messages: string[]; count: number }> {
  const rows = await sql<{ message: string }[]>`
    SELECT message FROM harvest_gather_error WHERE harvest_job_id = ${jobId} ORDER BY created, id LIMIT 20`;
  const [count] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM harvest_gather_error WHERE harvest_job_id = ${jobId}`;
  return { messages: rows.map((r) => r.message), count: count!.n };
}
