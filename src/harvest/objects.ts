/**
 * The owner of `harvest_object`, `harvest_object_extra` and `harvest_object_error`: every statement on
 * them is a verb here, and every state change goes through `OBJECT_TRANSITIONS` (states.ts).
 *
 * @module
 */
import { PROCESS_ID } from "../db/consumers.ts";
import { jsonRows, type Queryable, type Sql, type Tx } from "../db/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import type { ReportStatus } from "./dicts.ts";
import { OBJECT_TRANSITIONS, type ObjectTransition, UNFINISHED } from "./states.ts";

export type { ClaimedObject, GatheredRow, Imported, ObjectRecord } from "./object_types.ts";
export { DELETED_EXTRA } from "./object_types.ts";
import { type ClaimedObject, DELETED_EXTRA, type GatheredRow, type Imported } from "./object_types.ts";

const from = (t: ObjectTransition) => OBJECT_TRANSITIONS[t].from as readonly string[];
const to = (t: ObjectTransition) => OBJECT_TRANSITIONS[t].to as string;

/** Stores one object with its extras (`harvest_object_create`); a second guid in one job is refused. */
export async function createObject(
  sql: Sql,
  o: { guid: string; content: string | null; jobId: string; sourceId: string; packageId: string | null },
  extras: Record<string, string>,
): Promise<string> {
  const id = crypto.randomUUID();
  try {
    await sql.begin(async (tx) => {
      await tx`INSERT INTO harvest_object (id, guid, content, harvest_job_id, harvest_source_id, package_id)
        VALUES (${id}, ${o.guid}, ${o.content}, ${o.jobId}, ${o.sourceId}, ${o.packageId})`;
      for (const [key, value] of Object.entries(extras)) {
        await tx`INSERT INTO harvest_object_extra (id, harvest_object_id, key, value)
          VALUES (${crypto.randomUUID()}, ${id}, ${key}, ${value})`;
      }
    });
  } catch (error) {
    if ((error as { constraint_name?: string }).constraint_name === "harvest_object_job_guid_idx") {
      throw ValidationError.of("guid", `The job already has an object with guid ${o.guid}`);
    }
    throw error;
  }
  return id;
}

export async function saveObjectError(
  sql: Queryable,
  objectId: string,
  message: string,
  stage = "Fetch",
  line?: number,
): Promise<void> {
  await sql`INSERT INTO harvest_object_error (id, harvest_object_id, message, stage, line)
    VALUES (${crypto.randomUUID()}, ${objectId}, ${message}, ${stage}, ${line ?? null})`;
}

// --- Gather ---

/**
 * Inserts a batch of gathered objects; a guid the job already has is skipped. Answers the ids written.
 * With `claimFor` (seconds) they are born as the `claim` transition leaves them, held by this process
 * for a lease in the database's clock (`run-test` processes them itself: no claim per lot, no sweep).
 */
export async function insertGathered(tx: Tx, rows: GatheredRow[], claimFor?: number): Promise<string[]> {
  const [lease] = claimFor === undefined ? [] : await tx<{ now: Date; until: Date }[]>`
    SELECT now() AS now, now() + make_interval(secs => ${claimFor}) AS until`;
  const values = lease
    ? rows.map((r) => ({
      ...r,
      state: to("claim"),
      retry_times: 1,
      leased_by: PROCESS_ID,
      lease_until: lease.until,
      fetch_started: lease.now,
    }))
    : rows;
  const inserted = await tx<{ id: string }[]>`
    INSERT INTO harvest_object ${tx(values)} ON CONFLICT (harvest_job_id, guid) DO NOTHING RETURNING id`;
  return inserted.map((r) => r.id);
}

type ExtraRow = { id: string; harvest_object_id: string; key: string; value: string };
export async function insertExtras(tx: Tx, extras: ExtraRow[]): Promise<void> {
  if (extras.length > 0) await tx`INSERT INTO harvest_object_extra ${tx(extras)}`;
}

/**
 * The `unchanged` transition at gather: new objects whose record matches the current object of its
 * dataset (same content hash, or known unchanged by the harvester) are complete at once.
 */
export async function completeUnchanged(tx: Tx, ids: string[], known: string[]): Promise<Set<string>> {
  const unchanged = await tx<{ id: string }[]>`
    UPDATE harvest_object n SET lease_until = NULL, state = ${to("unchanged")}, report_status = 'not modified',
      fetch_started = now(), fetch_finished = now(), import_started = now(), import_finished = now()
    FROM harvest_object c JOIN package p ON p.id = c.package_id
    WHERE n.id = ANY(${ids}) AND n.state = ANY(${from("unchanged")}) AND c.harvest_source_id = n.harvest_source_id
      AND c.guid = n.guid AND c.current AND p.state = 'active' AND (c.content_hash = n.content_hash OR n.id = ANY(${known}))
    RETURNING n.id`;
  return new Set(unchanged.map((r) => r.id));
}

/** The `fail` transition for some of a job's new objects, by guid; answers those moved. */
export async function failByGuid(
  sql: Queryable,
  jobId: string,
  ids: string[],
  guids: string[],
): Promise<{ id: string; guid: string }[]> {
  return await sql<{ id: string; guid: string }[]>`
    UPDATE harvest_object SET state = ${to("fail")}, report_status = 'errored', lease_until = NULL
    WHERE harvest_job_id = ${jobId} AND id = ANY(${ids}) AND guid = ANY(${guids}) AND state = ANY(${from("fail")})
    RETURNING id, guid`;
}

/**
 * The current objects of a source's active datasets that this job did not gather, found as a set
 * difference of guids (`EXCEPT`: hashed or sorted, linear whatever the estimates). As `NOT EXISTS`,
 * a job newer than the table's statistics was estimated at one object and the plan scanned the
 * whole table once per current object (33 s at 20,000 datasets on the embedded database); as
 * `NOT IN`, a subquery too large for work_mem is rescanned per row (minutes at 200,000).
 */
export async function missingFromJob(
  tx: Queryable,
  sourceId: string,
  jobId: string,
): Promise<{ guid: string; package_id: string }[]> {
  return await tx<{ guid: string; package_id: string }[]>`
    SELECT c.guid, c.package_id FROM harvest_object c JOIN package p ON p.id = c.package_id
    WHERE c.harvest_source_id = ${sourceId} AND c.current AND p.state = 'active'
      AND c.guid IN (
        SELECT guid FROM harvest_object WHERE harvest_source_id = ${sourceId} AND current
        EXCEPT SELECT guid FROM harvest_object WHERE harvest_job_id = ${jobId})`;
}

/** Objects of this job that withdraw the datasets of records gone from the remote. */
export async function insertWithdrawals(
  tx: Tx,
  jobId: string,
  sourceId: string,
  missing: { guid: string; package_id: string }[],
): Promise<string[]> {
  const rows = missing.map((m) => ({
    id: crypto.randomUUID(),
    guid: m.guid,
    harvest_job_id: jobId,
    harvest_source_id: sourceId,
    package_id: m.package_id,
  }));
  await tx`INSERT INTO harvest_object ${tx(rows)}`;
  await tx`INSERT INTO harvest_object_extra ${
    tx(rows.map((r) => ({ id: crypto.randomUUID(), harvest_object_id: r.id, key: DELETED_EXTRA, value: "true" })))
  }`;
  return rows.map((r) => r.id);
}

/** Drops objects gathered outside a `run-test`'s guids: they are not part of that run. */
export async function dropObjects(sql: Queryable, ids: string[]): Promise<void> {
  if (ids.length) await sql`DELETE FROM harvest_object WHERE id = ANY(${ids})`;
}

// --- Fetch and import ---

const CLAIMED_COLUMNS = `o.id, o.guid, o.content, o.content_hash, o.state, o.retry_times, o.harvest_job_id,
  o.harvest_source_id, o.package_id, j.status AS job_status, row_to_json(s.*) AS source,
  (SELECT coalesce(json_object_agg(e.key, e.value), '{}') FROM harvest_object_extra e
    WHERE e.harvest_object_id = o.id) AS extras`;

/**
 * The `claim` transition: leases the objects nobody holds for `lease` seconds, counting the attempt.
 * A duplicate delivery while they are being processed finds them held.
 */
export async function claimObjects(sql: Queryable, ids: string[], lease: number): Promise<ClaimedObject[]> {
  return await sql.unsafe<ClaimedObject[]>(
    `UPDATE harvest_object o SET retry_times = o.retry_times + 1, leased_by = $5,
      lease_until = now() + make_interval(secs => $2), state = $3, fetch_started = now()
    FROM harvest_job j, harvest_source s
    WHERE o.id = ANY($1) AND j.id = o.harvest_job_id AND s.id = o.harvest_source_id
      AND o.state = ANY($4) AND (o.lease_until IS NULL OR o.lease_until < now())
    RETURNING ${CLAIMED_COLUMNS}`,
    [ids, lease, to("claim"), from("claim"), PROCESS_ID] as never[],
  );
}

/** Releases the leases of processes that stopped reporting alive; answers the objects to queue again. */
export async function releaseLeasesOf(sql: Queryable, holders: string[]): Promise<string[]> {
  // Rows a dead process's open transaction still locks are skipped, not waited for: they are released
  // on a later pass, once PostgreSQL has ended that session (ckan.harvest.db.idle_in_transaction_timeout).
  const rows = await sql<{ id: string }[]>`
    UPDATE harvest_object SET lease_until = NULL, leased_by = NULL, queued_at = now() WHERE id IN (
      SELECT id FROM harvest_object WHERE leased_by = ANY(${holders}) AND lease_until > now()
        AND state = ANY(${UNFINISHED as string[]}) FOR UPDATE SKIP LOCKED)
    RETURNING id`;
  return rows.map((r) => r.id);
}

/**
 * Gives up this process's leases on `ids` (its lot failed because the database went away), so the
 * objects' messages, delivered again after `ckan.harvest.mq.retry_delay`, find them free.
 */
export async function releaseOwnLeases(sql: Queryable, ids: string[]): Promise<number> {
  const rows = await sql`
    UPDATE harvest_object SET lease_until = NULL, leased_by = NULL WHERE id IN (
      SELECT id FROM harvest_object WHERE id = ANY(${ids}) AND leased_by = ${PROCESS_ID} AND lease_until > now()
        AND state = ANY(${UNFINISHED as string[]}) FOR UPDATE SKIP LOCKED)`;
  return rows.count;
}

/** Those of `holders` that still hold leases (on rows some open transaction of theirs locks). */
export async function stillLeasing(sql: Queryable, holders: string[]): Promise<Set<string>> {
  const rows = await sql<{ leased_by: string }[]>`
    SELECT DISTINCT leased_by FROM harvest_object WHERE leased_by = ANY(${holders}) AND lease_until > now()
      AND state = ANY(${UNFINISHED as string[]})`;
  return new Set(rows.map((r) => r.leased_by));
}

/** An object as the import stage reads it, without claiming it (`harvester import`). */
export async function readForImport(sql: Queryable, id: string): Promise<ClaimedObject | undefined> {
  const [row] = await sql.unsafe<ClaimedObject[]>(
    `SELECT ${CLAIMED_COLUMNS} FROM harvest_object o JOIN harvest_job j ON j.id = o.harvest_job_id
      JOIN harvest_source s ON s.id = o.harvest_source_id WHERE o.id = $1`,
    [id],
  );
  return row;
}

/** The `fail` transition for one object (a stage failed, or attempts ran out); its error rows are saved apart. */
export async function failObject(sql: Queryable, id: string, options: { importFinished?: boolean } = {}) {
  // Only while this process still holds it: a lease handed on (this process was cut off) is not ours to end.
  await sql`UPDATE harvest_object SET lease_until = NULL, state = ${to("fail")}, report_status = 'errored',
      import_finished = CASE WHEN ${options.importFinished ?? false} THEN now() ELSE import_finished END
    WHERE id = ${id} AND state = ANY(${from("fail")}) AND leased_by = ${PROCESS_ID}`;
}

/** The `fail` transition for every unfinished object of a job (abort, time out); answers those moved. */
export async function failUnfinished(sql: Queryable, jobId: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    UPDATE harvest_object SET state = ${to("fail")}, report_status = 'errored', lease_until = NULL
    WHERE harvest_job_id = ${jobId} AND state = ANY(${from("fail")}) RETURNING id`;
  return rows.map((r) => r.id);
}

/**
 * Records the fetch stage's result: new content (and its hash) when it set some, and with `importing`
 * the `fetched` transition to IMPORT.
 */
export async function recordFetch(
  sql: Queryable,
  id: string,
  r: { content: string | undefined; hash: string | null; importing: boolean },
): Promise<void> {
  if (r.importing) {
    await sql`UPDATE harvest_object SET fetch_finished = now(), content = coalesce(${r.content ?? null}, content),
        content_hash = ${r.hash}, state = ${to("fetched")}, import_started = now()
      WHERE id = ${id} AND state = ANY(${from("fetched")})`;
  } else {
    await sql`UPDATE harvest_object SET fetch_finished = now(), content = coalesce(${r.content ?? null}, content),
        content_hash = ${r.hash}, import_started = NULL WHERE id = ${id}`;
  }
}

/** The `unchanged` transition for one claimed object: the fetch stage found nothing new. */
export async function completeNotModified(sql: Queryable, id: string): Promise<void> {
  await sql`UPDATE harvest_object SET lease_until = NULL, state = ${to("unchanged")}, report_status = 'not modified'
    WHERE id = ${id} AND state = ANY(${from("unchanged")})`;
}

/** The `complete` transition for a withdrawal object: `deleted`, or `not modified` when nothing was left. */
export async function completeWithdrawal(tx: Queryable, id: string, status: ReportStatus): Promise<void> {
  await tx`UPDATE harvest_object SET lease_until = NULL, state = ${to("complete")}, report_status = ${status},
      fetch_started = now(), fetch_finished = now(), import_started = now(), import_finished = now()
    WHERE id = ${id} AND state = ANY(${from("complete")})`;
}

/**
 * The final state of imported objects, in one statement, inside the transaction of their imports:
 * `complete` (or `fail` for those reported errored), current and linked to their dataset.
 */
export async function finishImports(tx: Tx, imported: Imported[]): Promise<Set<string>> {
  const rows = imported.map(({ id, status, link, changes, mapping }) => ({
    id,
    status,
    link: link ?? null,
    changes: changes?.length ? changes : null,
    mapping: mapping ?? null,
  }));
  // Fenced: an object whose lease was handed to another process (this one was cut off for longer
  // than `dead_after`) is not finished here; the caller rolls back what it wrote for it.
  return await tx`UPDATE harvest_object o SET lease_until = NULL,
      state = CASE WHEN x.status = 'errored' THEN ${to("fail")} ELSE ${to("complete")} END, report_status = x.status,
      changes = x.changes, mapping = coalesce(x.mapping, o.mapping),
      import_finished = now(), fetch_finished = coalesce(o.fetch_finished, now()),
      import_started = coalesce(o.import_started, now()), current = (x.link IS NOT NULL) OR o.current,
      package_id = coalesce(x.link, o.package_id)
    FROM json_to_recordset(${jsonRows(tx, rows)}) AS x(id text, status text, link text, changes jsonb, mapping text)
    WHERE o.id = x.id AND o.state = ANY(${from("complete")}) AND o.leased_by = ${PROCESS_ID}
    RETURNING o.id`.then((rows) => new Set(rows.map((r) => r.id as string)));
}

/**
 * Objects of a source's first harvest written once, in their final state, by the transaction of their
 * imports (`ClaimedObject.unsaved`): what the gather's insert, the claim and `finishImports` write.
 * A guid the job already has is skipped; answers the ids written.
 */
export async function insertFinished(tx: Tx, done: { obj: ClaimedObject; imported: Imported }[]): Promise<Set<string>> {
  const params: unknown[] = [];
  const rows = done.map(({ obj, imported: i }) => {
    const n = params.push(
      obj.id,
      obj.guid,
      obj.content,
      obj.content_hash,
      obj.unsaved?.metadata_modified_date ?? null,
      obj.harvest_job_id,
      obj.harvest_source_id,
      i.status === "errored" ? to("fail") : to("complete"),
      i.status,
      i.changes?.length ? JSON.stringify(i.changes) : null,
      i.mapping ?? null,
      i.link ?? null,
    ) - 12;
    return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}::timestamptz, $${n + 6}, $${n + 7}, $${n + 8},
      $${n + 9}, $${n + 10}::jsonb, $${n + 11}, $${n + 12}::text IS NOT NULL, $${
      n + 12
    }::text, 1, now(), now(), now(), now())`;
  });
  const written = await tx.unsafe<{ id: string }[]>(
    `INSERT INTO harvest_object (id, guid, content, content_hash, metadata_modified_date, harvest_job_id,
      harvest_source_id, state, report_status, changes, mapping, current, package_id, retry_times, fetch_started,
      fetch_finished, import_started, import_finished)
    VALUES ${rows.join(", ")} ON CONFLICT (harvest_job_id, guid) DO NOTHING RETURNING id`,
    params as never[],
    { prepare: true },
  );
  return new Set(written.map((r) => r.id));
}

/** Makes an object the current one of a dataset (a forced re-import keeps state and report status). */
export async function makeCurrent(tx: Queryable, id: string, packageId: string, mapping?: string): Promise<void> {
  await tx`UPDATE harvest_object SET current = true, package_id = ${packageId},
    mapping = coalesce(${mapping ?? null}, mapping) WHERE id = ${id}`;
}

/** The original's rule for harvesters that write without the import catalog. */
export async function fallbackStatus(tx: Queryable, objectId: string): Promise<ReportStatus> {
  const [o] = await tx<{ current: boolean; package_id: string | null; n: number }[]>`
    SELECT current, package_id, (SELECT count(*)::int FROM harvest_object x WHERE x.package_id = o.package_id) AS n
    FROM harvest_object o WHERE id = ${objectId}`;
  if (!o?.current) return "deleted";
  return o.n >= 2 ? "updated" : "added";
}

/** The jobs of some objects, with how many of them each holds and whether its source has a window (window.ts). */
export async function lotsByJob(
  sql: Queryable,
  objectIds: string[],
): Promise<{ job: string; objects: number; windowed: boolean }[]> {
  if (objectIds.length === 0) return [];
  return await sql<{ job: string; objects: number; windowed: boolean }[]>`
    SELECT o.harvest_job_id AS job, count(*)::int AS objects, w.job_id IS NOT NULL AS windowed
    FROM harvest_object o LEFT JOIN harvest_job_window w ON w.job_id = o.harvest_job_id
    WHERE o.id = ANY(${objectIds}) GROUP BY 1, 3`;
}

// --- A source's window (window.ts): objects that wait in the database, not on the queue ---

/** Parks new objects: they stay WAITING and unqueued (no `queued_at`) until the window lets them go. */
export async function parkObjects(sql: Queryable, ids: string[]): Promise<void> {
  if (ids.length > 0) {
    await sql`UPDATE harvest_object SET queued_at = NULL WHERE id = ANY(${ids}) AND state = 'WAITING'`;
  }
}

/** Lets up to `n` of a job's parked objects go, the first gathered first; answers those to queue. */
export async function unparkObjects(sql: Queryable, jobId: string, n: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    UPDATE harvest_object SET queued_at = now() WHERE id IN (
      SELECT id FROM harvest_object WHERE harvest_job_id = ${jobId} AND queued_at IS NULL AND state = 'WAITING'
      ORDER BY gathered, id LIMIT ${n} FOR UPDATE SKIP LOCKED)
    RETURNING id`;
  return rows.map((r) => r.id);
}

// --- The catalog's links ---

/** A dataset's current object (or, for a deleted dataset, its newest object), as an import sees it. */
export interface LinkedObject {
  package_id: string;
  current: boolean;
  content_hash: string | null;
  name: string;
  state: string;
}

/** The links of (source, guid) pairs, locked for the transaction: the lookup each import would make. */
export async function linkedObjects(
  tx: Queryable,
  pairs: { sourceId: string; guid: string }[],
): Promise<(LinkedObject & { harvest_source_id: string; guid: string })[]> {
  return await tx<(LinkedObject & { harvest_source_id: string; guid: string })[]>`
    SELECT o.harvest_source_id, o.guid, o.package_id, o.current, o.content_hash, p.name, p.state
    FROM harvest_object o JOIN package p ON p.id = o.package_id
    WHERE (o.harvest_source_id, o.guid) IN (
        SELECT * FROM unnest(${pairs.map((x) => x.sourceId)}::text[], ${pairs.map((x) => x.guid)}::text[]))
      AND (o.current OR p.state = 'deleted')
    ORDER BY o.harvest_source_id, o.guid, o.current DESC, o.gathered DESC
    FOR UPDATE OF o`;
}

/** The dataset of the current object of (source, guid), locked for the transaction. */
export async function currentPackageOf(tx: Queryable, sourceId: string, guid: string): Promise<string | undefined> {
  const [current] = await tx<{ package_id: string }[]>`
    SELECT package_id FROM harvest_object
    WHERE harvest_source_id = ${sourceId} AND guid = ${guid} AND current AND package_id IS NOT NULL FOR UPDATE`;
  return current?.package_id;
}

/** Unlinks a dataset's current object (its dataset was withdrawn); `objectId`, if given, records the withdrawal. */
export async function unlinkDataset(tx: Queryable, packageId: string, objectId?: string): Promise<void> {
  await tx`UPDATE harvest_object SET current = false WHERE package_id = ${packageId} AND current`;
  if (objectId) await tx`UPDATE harvest_object SET package_id = ${packageId} WHERE id = ${objectId}`;
}

// --- Recovery, maintenance, reports ---

/**
 * Marks for re-queueing up to 1,000 unfinished objects of Running jobs that nobody holds and that
 * were queued longer ago than `visibility` seconds; answers their ids.
 */
export async function requeueLostObjects(sql: Queryable, visibility: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    UPDATE harvest_object SET queued_at = now() WHERE id IN (
      SELECT o.id FROM harvest_object o JOIN harvest_job j ON j.id = o.harvest_job_id
      WHERE o.state = ANY(${UNFINISHED as string[]}) AND j.status = 'Running'
        AND (o.lease_until IS NULL OR o.lease_until < now())
        AND o.queued_at < now() - make_interval(secs => ${visibility})
      LIMIT 1000)
    RETURNING id`;
  return rows.map((r) => r.id);
}

/** The objects `harvest_objects_import` re-imports, by id. */
export async function selectForReimport(
  sql: Queryable,
  f: {
    objectId: string | null;
    guid: string | null;
    sourceId: string | null;
    packageId: string | null;
    joinDatasets: boolean;
    segments: string[];
    /** Only objects imported with another mapping than this one (`--stale-mapping`). */
    notMapping?: string;
  },
): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT o.id FROM harvest_object o LEFT JOIN package p ON p.id = o.package_id
    WHERE (o.current OR ${f.objectId}::text IS NOT NULL)
      AND (${f.guid}::text IS NULL OR o.guid = ${f.guid})
      AND (${f.sourceId}::text IS NULL OR o.harvest_source_id = ${f.sourceId})
      AND (${f.objectId}::text IS NULL OR o.id = ${f.objectId})
      AND (${f.packageId}::text IS NULL OR p.id = ${f.packageId} OR p.name = ${f.packageId})
      AND (NOT ${f.joinDatasets} OR p.state = 'active')
      AND (${f.segments.length === 0} OR substr(md5(o.id), 1, 1) = ANY(${f.segments}))
      AND (${f.notMapping ?? null}::text IS NULL OR o.mapping IS DISTINCT FROM ${f.notMapping ?? null})
    ORDER BY o.id`;
  return rows.map((r) => r.id);
}

/** The datasets only this source harvested (no other source's current object links them). */
export async function packagesOnlyOf(sql: Queryable, sourceId: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT DISTINCT o.package_id AS id FROM harvest_object o WHERE o.harvest_source_id = ${sourceId}
      AND o.package_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM harvest_object x WHERE x.package_id = o.package_id
        AND x.harvest_source_id <> ${sourceId} AND x.current)`;
  return rows.map((r) => r.id);
}

/** Deletes a source's finished, non-current objects without errors (a history clear-up). */
export async function deleteClearedObjects(sql: Queryable, sourceId: string): Promise<void> {
  await sql`
    DELETE FROM harvest_object o USING harvest_job j WHERE j.id = o.harvest_job_id AND j.source_id = ${sourceId}
      AND j.status <> 'Running' AND NOT o.current
      AND NOT EXISTS (SELECT 1 FROM harvest_object_error e WHERE e.harvest_object_id = o.id)`;
}

/** Deletes a source's superseded objects gathered more than `days` ago in finished jobs; answers how many. */
export async function deleteSupersededOlderThan(sql: Queryable, sourceId: string, days: number): Promise<number> {
  const rows = await sql`
    DELETE FROM harvest_object o USING harvest_job j WHERE j.id = o.harvest_job_id AND o.harvest_source_id = ${sourceId}
      AND j.status <> 'Running' AND NOT o.current AND o.gathered < now() - make_interval(days => ${days})
    RETURNING o.id`;
  return rows.length;
}
