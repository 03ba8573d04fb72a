/**
 * The owner of `harvest_pending_deletion`: deletions the guard held for an operator's decision.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";
import { DELETED_EXTRA } from "./objects.ts";

export interface PendingDeletion {
  id: string;
  guid: string;
  package_id: string;
  name: string;
  title: string;
  reason: string;
  job_id: string | null;
  created: Date;
}

/** Drops the held deletions of records this job lists again; answers how many. */
export async function dropRelisted(tx: Queryable, sourceId: string, jobId: string): Promise<number> {
  const relisted = await tx`
    DELETE FROM harvest_pending_deletion d WHERE d.source_id = ${sourceId} AND d.status = 'pending'
      AND EXISTS (SELECT 1 FROM harvest_object n WHERE n.harvest_job_id = ${jobId} AND n.guid = d.guid)`;
  return relisted.count;
}

/** Holds deletions for approval (a record already held gets this job and reason). */
export async function holdDeletions(
  tx: Queryable,
  sourceId: string,
  jobId: string,
  missing: { guid: string; package_id: string }[],
  reason: string,
): Promise<void> {
  for (const m of missing) {
    await tx`INSERT INTO harvest_pending_deletion (id, source_id, job_id, guid, package_id, reason)
      VALUES (${crypto.randomUUID()}, ${sourceId}, ${jobId}, ${m.guid}, ${m.package_id}, ${reason})
      ON CONFLICT (source_id, guid) WHERE status = 'pending'
      DO UPDATE SET job_id = excluded.job_id, reason = excluded.reason, created = now()`;
  }
}

/** A source's held deletions, by dataset name. */
export async function pendingDeletions(sql: Queryable, sourceId: string): Promise<PendingDeletion[]> {
  return await sql<PendingDeletion[]>`
    SELECT d.id, d.guid, d.package_id, p.name, p.title, d.reason, d.job_id, d.created
    FROM harvest_pending_deletion d JOIN package p ON p.id = d.package_id
    WHERE d.source_id = ${sourceId} AND d.status = 'pending' ORDER BY p.name`;
}

/** Records an operator's decision on held deletions (all of the source's, or those of `guids`). */
export async function decideDeletions(
  tx: Queryable,
  sourceId: string,
  decision: "approved" | "rejected",
  by: string,
  guids: string[] | null,
): Promise<{ id: string; guid: string }[]> {
  return await tx<{ id: string; guid: string }[]>`
    UPDATE harvest_pending_deletion SET status = ${decision}, decided = now(), decided_by = ${by}
    WHERE source_id = ${sourceId} AND status = 'pending' AND (${guids}::text[] IS NULL OR guid = ANY(${guids}))
    RETURNING id, guid`;
}

/** Which of these guids the source's newest gathered job lists (as records, not withdrawals). */
export async function listedByNewestJob(tx: Queryable, sourceId: string, guids: string[]): Promise<Set<string>> {
  const rows = await tx<{ guid: string }[]>`
    SELECT o.guid FROM harvest_object o
    WHERE o.harvest_job_id = (SELECT id FROM harvest_job WHERE source_id = ${sourceId}
        AND gather_finished IS NOT NULL ORDER BY gather_finished DESC LIMIT 1)
      AND o.guid = ANY(${guids})
      AND NOT EXISTS (SELECT 1 FROM harvest_object_extra x WHERE x.harvest_object_id = o.id
        AND x.key = ${DELETED_EXTRA})`;
  return new Set(rows.map((r) => r.guid));
}

export async function dropDeletion(tx: Queryable, id: string): Promise<void> {
  await tx`DELETE FROM harvest_pending_deletion WHERE id = ${id}`;
}

/** Forgets every held deletion of a source (its history is being cleared). */
export async function dropSourceDeletions(tx: Queryable, sourceId: string): Promise<void> {
  await tx`DELETE FROM harvest_pending_deletion WHERE source_id = ${sourceId}`;
}
