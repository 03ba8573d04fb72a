/**
 * Job reports, read across the harvest tables (jobs, gather errors, objects and their errors): what
 * the report, the dashboard, the status mails and `run-test` show. Reads only; the tables' owners
 * (jobs.ts, objects.ts) write them.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";
import { UNFINISHED } from "./states.ts";
import type { JobRow } from "./jobs.ts";
import type { ObjectRecord } from "./object_types.ts";

// --- Objects, as `harvest_object_show` and `harvest_object_list` show them ---

const RECORD_COLUMNS = `id, guid, current, gathered, fetch_started, fetch_finished, import_started, import_finished,
  content, state, metadata_modified_date, retry_times, harvest_job_id, harvest_source_id, package_id, report_status`;

export async function getObjectRecord(sql: Queryable, id: string): Promise<ObjectRecord | undefined> {
  const [row] = await sql.unsafe<ObjectRecord[]>(`SELECT ${RECORD_COLUMNS} FROM harvest_object WHERE id = $1`, [id]);
  return row;
}

/** The newest object with this guid, of any source. */
export async function objectByGuid(sql: Queryable, guid: string): Promise<ObjectRecord | undefined> {
  const [row] = await sql.unsafe<ObjectRecord[]>(
    `SELECT ${RECORD_COLUMNS} FROM harvest_object WHERE guid = $1 ORDER BY gathered DESC, id LIMIT 1`,
    [guid],
  );
  return row;
}

/** The current object of a dataset. */
export async function currentObjectOf(sql: Queryable, packageId: string): Promise<ObjectRecord | undefined> {
  const [row] = await sql.unsafe<ObjectRecord[]>(
    `SELECT ${RECORD_COLUMNS} FROM harvest_object o WHERE current AND package_id = $1
     ORDER BY import_finished DESC NULLS LAST LIMIT 1`,
    [packageId],
  );
  return row;
}

/** Object ids of a source, newest first. */
export async function listObjectIds(
  sql: Queryable,
  sourceId: string,
  options: { onlyCurrent: boolean; limit: number; offset: number },
): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM harvest_object WHERE harvest_source_id = ${sourceId} AND (current OR NOT ${options.onlyCurrent})
    ORDER BY gathered DESC, id LIMIT ${options.limit} OFFSET ${options.offset}`;
  return rows.map((r) => r.id);
}

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

/** How many of a job's updated datasets changed each kind of field: `{title: 3, resources: 9}`. */
export async function changeSummary(sql: Queryable, jobId: string): Promise<Record<string, number>> {
  const rows = await sql<{ field: string; n: number }[]>`
    SELECT split_part(c->>'field', '.', 1) AS field, count(DISTINCT o.id)::int AS n
    FROM harvest_object o, jsonb_array_elements(o.changes) c
    WHERE o.harvest_job_id = ${jobId} AND o.changes IS NOT NULL
    GROUP BY 1 ORDER BY 2 DESC, 1`;
  return Object.fromEntries(rows.map((r) => [r.field, r.n]));
}

/** A dataset's history: what each harvest that wrote it did, newest first. */
export async function datasetHistory(
  sql: Queryable,
  packageId: string,
  limit: number,
): Promise<
  { object_id: string; job_id: string; harvested: Date | null; status: string; changes: unknown[] | null }[]
> {
  return await sql`
    SELECT o.id AS object_id, o.harvest_job_id AS job_id, o.import_finished AS harvested, o.report_status AS status,
      o.changes
    FROM harvest_object o WHERE o.package_id = ${packageId} AND o.report_status IN ('added', 'updated', 'deleted')
    ORDER BY o.import_finished DESC NULLS LAST, o.gathered DESC LIMIT ${limit}`;
}

/** What an update made by this object changed in its dataset, field by field ([] when nothing). */
export async function objectChanges(sql: Queryable, objectId: string): Promise<unknown[]> {
  const [row] = await sql<{ changes: unknown[] | null }[]>`SELECT changes FROM harvest_object WHERE id = ${objectId}`;
  return row?.changes ?? [];
}

/** Objects imported in the last minute by running or just finished jobs. */
export async function importsLastMinute(sql: Queryable): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM harvest_object o JOIN harvest_job j ON j.id = o.harvest_job_id
    WHERE (j.status = 'Running' OR j.finished > now() - interval '60 seconds')
      AND o.import_finished > now() - interval '60 seconds'`;
  return row?.n ?? 0;
}

/** Objects of unfinished (New or Running) jobs by state. */
export async function unfinishedJobObjectStates(sql: Queryable): Promise<Map<string, number>> {
  const rows = await sql<{ state: string; n: number }[]>`
    SELECT o.state, count(*)::int AS n FROM harvest_object o
    JOIN harvest_job j ON j.id = o.harvest_job_id WHERE j.status IN ('New', 'Running') GROUP BY o.state`;
  return new Map(rows.map((r) => [r.state, r.n]));
}

/**
 * The source's records as the last runs left them: each current object's guid and the remote
 * modification time its listing gave, for harvesters that decide "unchanged" from a listing's dates.
 */
export async function currentRecordDates(sql: Queryable, sourceId: string): Promise<Map<string, Date | null>> {
  const rows = await sql<{ guid: string; modified: Date | null }[]>`
    SELECT o.guid, o.metadata_modified_date AS modified FROM harvest_object o JOIN package p ON p.id = o.package_id
    WHERE o.harvest_source_id = ${sourceId} AND o.current AND p.state = 'active'`;
  return new Map(rows.map((r) => [r.guid, r.modified]));
}

/**
 * Whether the source has a current object: with none when its job starts, none of the job's records
 * can match one (one job per source runs at a time, and a job holds each guid once).
 */
export async function hasCurrentObjects(sql: Queryable, sourceId: string): Promise<boolean> {
  const [row] = await sql<{ any: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM harvest_object WHERE harvest_source_id = ${sourceId} AND current) AS any`;
  return row!.any;
}

export interface ObjectError {
  id: string;
  message: string;
  stage: string;
  line: number | null;
  created: Date;
}

export async function objectErrors(sql: Queryable, objectId: string): Promise<ObjectError[]> {
  return await sql<ObjectError[]>`
    SELECT id, message, stage, line, created FROM harvest_object_error WHERE harvest_object_id = ${objectId}
    ORDER BY created, id`;
}

export async function objectExtras(sql: Queryable, objectId: string): Promise<Record<string, string>> {
  const rows = await sql<{ key: string; value: string }[]>`
    SELECT key, value FROM harvest_object_extra WHERE harvest_object_id = ${objectId} ORDER BY key`;
  return Object.fromEntries(rows.map((e) => [e.key, e.value]));
}

/** The number of a source's active harvested datasets. */
export async function currentDatasetCount(tx: Queryable, sourceId: string): Promise<number> {
  const [row] = await tx<{ total: number }[]>`
    SELECT count(*)::int AS total FROM harvest_object c JOIN package p ON p.id = c.package_id
    WHERE c.harvest_source_id = ${sourceId} AND c.current AND p.state = 'active'`;
  return row!.total;
}

/** Which of these objects have one of these guids (`run-test GUID`). */
export async function guidsOf(sql: Queryable, ids: string[]): Promise<{ id: string; guid: string }[]> {
  return await sql<{ id: string; guid: string }[]>`SELECT id, guid FROM harvest_object WHERE id = ANY(${ids})`;
}

/** A job's objects queued or in work: unfinished and not parked. */
export async function inFlightOf(sql: Queryable, jobId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM harvest_object WHERE harvest_job_id = ${jobId}
      AND state = ANY(${UNFINISHED as string[]}) AND queued_at IS NOT NULL`;
  return row!.n;
}
