import type { Queryable } from "../db/mod.ts";
import type { Actor } from "./actor.ts";

/** 32 random bytes as 64 hex digits: API tokens, session tokens, form tokens. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Tokens are stored as their SHA-256; the token itself is shown once, when made. */
export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** How stale a token's `last_access` may get, in seconds: it is written at most once a minute. */
const LAST_ACCESS_RESOLUTION = 60;

/**
 * The actor an `Authorization` header value names, or undefined when it names none (or a revoked one).
 * Reading a token writes nothing unless its `last_access` is over a minute old: a write per request
 * would make every caller of one token wait on its row, and would end every cached answer at once.
 */
export async function actorForToken(sql: Queryable, token: string): Promise<Actor | undefined> {
  const raw = token.replace(/^Bearer\s+/i, "").trim();
  if (!raw) return undefined;
  const [row] = await sql<{ token_id: string; stale: boolean; id: string; name: string; sysadmin: boolean }[]>`
    SELECT t.id AS token_id, u.id, u.name, u.sysadmin,
      (t.last_access IS NULL OR t.last_access < now() - make_interval(secs => ${LAST_ACCESS_RESOLUTION})) AS stale
    FROM api_token t JOIN "user" u ON u.id = t.user_id
    WHERE t.token_hash = ${await hashToken(raw)} AND NOT t.revoked AND (t.expires_at IS NULL OR t.expires_at > now())
      AND u.state = 'active'`;
  if (!row) return undefined;
  if (row.stale) await sql`UPDATE api_token SET last_access = now() WHERE id = ${row.token_id}`;
  return { kind: "user", id: row.id, name: row.name, sysadmin: row.sysadmin };
}

/** Stores a new token's hash for a user. */
export async function createToken(
  sql: Queryable,
  t: { id: string; userId: string; name: string; token: string; expires: Date | null },
): Promise<void> {
  await sql`INSERT INTO api_token (id, user_id, name, token_hash, expires_at)
    VALUES (${t.id}, ${t.userId}, ${t.name}, ${await hashToken(t.token)}, ${t.expires})`;
}

/** The token with this id, or whose hash is the hash of `token`. */
export async function findToken(
  sql: Queryable,
  by: { id?: string; token?: string },
): Promise<{ id: string; user_id: string } | undefined> {
  const hash = by.token ? await hashToken(by.token) : "";
  const [t] = await sql<{ id: string; user_id: string }[]>`
    SELECT id, user_id FROM api_token WHERE id = ${by.id ?? ""} OR token_hash = ${hash}`;
  return t;
}

export async function revokeToken(sql: Queryable, id: string): Promise<void> {
  await sql`UPDATE api_token SET revoked = true WHERE id = ${id}`;
}

export interface TokenInfo {
  id: string;
  name: string;
  created: Date;
  expires_at: Date | null;
  last_access: Date | null;
  revoked: boolean;
}

/** A user's tokens, oldest first (never the token itself). */
export async function listTokens(sql: Queryable, userId: string): Promise<TokenInfo[]> {
  return await sql<TokenInfo[]>`
    SELECT id, name, created, expires_at, last_access, revoked FROM api_token WHERE user_id = ${userId}
    ORDER BY created, id`;
}
