import type { Queryable } from "../db/mod.ts";
import type { Actor } from "../actions/registry.ts";

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

/** The actor an `Authorization` header value names, or undefined when it names none (or a revoked one). */
export async function actorForToken(sql: Queryable, token: string): Promise<Actor | undefined> {
  const raw = token.replace(/^Bearer\s+/i, "").trim();
  if (!raw) return undefined;
  const [row] = await sql<{ id: string; name: string; sysadmin: boolean }[]>`
    UPDATE api_token t SET last_access = now() FROM "user" u
    WHERE t.token_hash = ${await hashToken(raw)} AND NOT t.revoked AND (t.expires_at IS NULL OR t.expires_at > now())
      AND u.id = t.user_id AND u.state = 'active'
    RETURNING u.id, u.name, u.sysadmin`;
  return row ? { kind: "user", id: row.id, name: row.name, sysadmin: row.sysadmin } : undefined;
}
