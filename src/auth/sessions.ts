/**
 * The owner of the `web_session` table: a session is the SHA-256 of its cookie's token, its user and
 * the form token every POST must carry.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";
import type { Actor } from "./actor.ts";
import { hashToken, randomToken } from "./tokens.ts";

/** The signed-in actor and form token of a live session, or undefined. */
export async function findSession(sql: Queryable, token: string): Promise<{ actor: Actor; csrf: string } | undefined> {
  const [row] = await sql<{ id: string; name: string; sysadmin: boolean; csrf: string }[]>`
    SELECT u.id, u.name, u.sysadmin, s.csrf FROM web_session s JOIN "user" u ON u.id = s.user_id
    WHERE s.token_hash = ${await hashToken(token)} AND s.expires_at > now() AND u.state = 'active'`;
  if (!row) return undefined;
  return { actor: { kind: "user", id: row.id, name: row.name, sysadmin: row.sysadmin }, csrf: row.csrf };
}

/** Starts a session of `days` days and drops expired ones; returns the cookie's token. */
export async function createSession(sql: Queryable, userId: string, days: number): Promise<string> {
  const token = randomToken();
  await sql`INSERT INTO web_session (token_hash, user_id, csrf, expires_at)
    VALUES (${await hashToken(token)}, ${userId}, ${randomToken()}, now() + make_interval(days => ${days}))`;
  await sql`DELETE FROM web_session WHERE expires_at < now()`;
  return token;
}

export async function endSession(sql: Queryable, token: string): Promise<void> {
  await sql`DELETE FROM web_session WHERE token_hash = ${await hashToken(token)}`;
}
