/**
 * The owner of `harvest_lock`: cluster-wide locks with an expiry, so a holder that died frees its
 * lock by itself.
 *
 * @module
 */
import type { Queryable } from "./sql.ts";

/** Takes a lock for `seconds` (or renews it for its holder); false when another holder has it. */
export async function tryLock(sql: Queryable, name: string, holder: string, seconds: number): Promise<boolean> {
  const rows = await sql`
    INSERT INTO harvest_lock (name, holder, expires_at) VALUES (${name}, ${holder}, now() + make_interval(secs => ${seconds}))
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
      WHERE harvest_lock.expires_at < now() OR harvest_lock.holder = excluded.holder
    RETURNING name`;
  return rows.length > 0;
}

export async function unlock(sql: Queryable, name: string, holder: string): Promise<void> {
  await sql`DELETE FROM harvest_lock WHERE name = ${name} AND holder = ${holder}`;
}
