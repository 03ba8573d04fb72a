/**
 * The owner of `data_change` and `data_change_cutoff` (migration 0019): the ids of the transactions
 * that changed rows in the tables the API's cached answers read, noted by statement-level triggers.
 * Whether anything such committed since a snapshot is one small query (two when the snapshot listed
 * running transactions and something was noted since its oldest), whatever else the cluster commits
 * meanwhile (heartbeats, queue messages, autovacuum, other databases).
 *
 * @module
 */
import type { Queryable } from "./sql.ts";

/** Noted transactions are kept this long (seconds) before a prune removes them. */
export const CHANGE_RETENTION_SECONDS = 600;

/** The database's snapshot now, as text (`pg_current_snapshot()`). */
export async function currentSnapshot(sql: Queryable): Promise<string> {
  const [row] = await sql<{ s: string }[]>`SELECT pg_current_snapshot()::text AS s`;
  return row!.s;
}

/**
 * Whether a transaction that changed watched data committed after `snapshot` was taken (or it is too
 * old to tell), and the snapshot now. A noted transaction is visible here once it committed; it
 * committed after `snapshot` when it had not started then (at or past the snapshot's `xmax`) or was
 * running (in its list). The query has no parameters, so PostgreSQL plans it once per connection: a
 * comparison with the snapshot in SQL was planned again on every request (its generic plan looked
 * dearer than the custom ones), 0.5-2 ms each: the API served a third to an eighth as many requests.
 */
export async function changedSince(sql: Queryable, snapshot: string): Promise<{ changed: boolean; now: string }> {
  const [xmin, xmax, list] = snapshot.split(":");
  const [row] = await sql<{ now: string; cutoff: string; newest: string | null }[]>`
    SELECT pg_current_snapshot()::text AS now, (SELECT xid FROM data_change_cutoff)::text AS cutoff,
      (SELECT max(xid) FROM data_change)::text AS newest`;
  const { now, cutoff, newest } = row!;
  if (BigInt(cutoff) >= BigInt(xmin!)) return { changed: true, now };
  if (newest === null || BigInt(newest) < BigInt(xmin!)) return { changed: false, now };
  if (BigInt(newest) >= BigInt(xmax!)) return { changed: true, now };
  // Something noted between xmin and xmax: it matters only if it was running when the snapshot was taken.
  const running = list ? list.split(",") : [];
  if (running.length === 0) return { changed: false, now };
  const [hit] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM data_change WHERE xid = ANY(${`{${running.join(",")}}`}::bigint[])`;
  return { changed: hit!.n > 0, now };
}

/**
 * Removes noted transactions older than `retentionSeconds`, raising the cutoff to the newest one
 * removed; returns how many. Run now and then by the API server and by the scheduler's tick. Only
 * ids below the oldest transaction still running anywhere in the cluster go, so the cutoff stays
 * below the horizon of every snapshot taken from now on: it ends answers computed before the prune,
 * never later ones.
 */
export async function pruneChanges(sql: Queryable, retentionSeconds = CHANGE_RETENTION_SECONDS): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    WITH gone AS (
      DELETE FROM data_change WHERE at < now() - make_interval(secs => ${retentionSeconds})
        AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint RETURNING xid
    ), raised AS (
      UPDATE data_change_cutoff SET xid = greatest(xid, (SELECT max(xid) FROM gone)) WHERE EXISTS (SELECT 1 FROM gone)
    )
    SELECT count(*)::int AS n FROM gone`;
  return row!.n;
}
