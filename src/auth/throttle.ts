/**
 * Sign-in rate limiting, per account and per client address, in the database so that every API
 * server behind a load balancer shares it. Each key has a few free failures; past them every failure
 * locks the key for twice as long as the last (1 s, 2 s, 4 s ... at most 15 min), and while a key is
 * locked no password is checked at all (so a locked account is not an oracle either). A success clears
 * the account's key; an hour without failures clears any key. Unknown names are counted the same way
 * as known ones, so lockouts do not tell which names exist. Owns the `login_throttle` table.
 */
import type { Queryable } from "../db/mod.ts";

export const FREE_FAILURES = { account: 5, address: 20 };
const MAX_LOCK_SECONDS = 15 * 60;

/** The throttle keys of one sign-in attempt. */
export function throttleKeys(name: string, address: string | undefined): { key: string; free: number }[] {
  const keys = [{ key: `account:${name.trim().toLowerCase().slice(0, 200)}`, free: FREE_FAILURES.account }];
  if (address) keys.push({ key: `address:${address}`, free: FREE_FAILURES.address });
  return keys;
}

/** Seconds until these keys may try again, or 0 when they may now. */
export async function lockedFor(sql: Queryable, keys: { key: string }[]): Promise<number> {
  const [row] = await sql<{ wait: number | null }[]>`
    SELECT ceil(max(extract(epoch FROM locked_until - now())))::int AS wait FROM login_throttle
    WHERE key = ANY(${keys.map((k) => k.key)}) AND locked_until > now()`;
  return Math.max(0, row?.wait ?? 0);
}

/** Counts a failure for each key and locks those past their free failures. */
export async function recordFailure(sql: Queryable, keys: { key: string; free: number }[]): Promise<void> {
  for (const { key, free } of keys) {
    await sql`
      INSERT INTO login_throttle (key, failures, updated) VALUES (${key}, 1, now())
      ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN login_throttle.updated < now() - interval '1 hour' THEN 1
          ELSE login_throttle.failures + 1 END,
        updated = now()`;
    await sql`
      UPDATE login_throttle SET locked_until = now() + make_interval(secs => least(${MAX_LOCK_SECONDS},
          power(2, failures - ${free} - 1)))
      WHERE key = ${key} AND failures > ${free}`;
  }
  await sql`DELETE FROM login_throttle WHERE updated < now() - interval '1 day'`;
}

/** Clears an account's failures after it signed in. */
export async function recordSuccess(sql: Queryable, keys: { key: string }[]): Promise<void> {
  await sql`DELETE FROM login_throttle WHERE key = ${keys[0]!.key}`;
}
