/**
 * The owner of the `user` and `membership` tables: accounts, and who holds which role in which
 * organization or group. The role checks every authorization rule builds on live here.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";
import { NotFoundError, ValidationError } from "../errors/mod.ts";
import type { Actor } from "./actor.ts";

export type Capacity = "admin" | "editor" | "member";

export interface UserRef {
  id: string;
  name: string;
  sysadmin: boolean;
}

/** The active user an id or a name denotes. */
export async function findUser(sql: Queryable, idOrName: string): Promise<UserRef | undefined> {
  const [u] = await sql<UserRef[]>`
    SELECT id, name, sysadmin FROM "user" WHERE (id = ${idOrName} OR name = ${idOrName}) AND state = 'active'
    ORDER BY (id = ${idOrName}) DESC LIMIT 1`;
  return u;
}

/** As `findUser`, but a missing user is a 404. */
export async function getUser(sql: Queryable, idOrName: string): Promise<UserRef> {
  const u = await findUser(sql, idOrName);
  if (!u) throw new NotFoundError(`User not found: ${idOrName}`);
  return u;
}

/** True when any user, active or not, has this id or name. */
export async function userExists(sql: Queryable, idOrName: string): Promise<boolean> {
  return (await sql`SELECT 1 FROM "user" WHERE name = ${idOrName} OR id = ${idOrName}`).length > 0;
}

export interface NewUser {
  name: string;
  email: string | null;
  passwordHash: string | null;
  sysadmin: boolean;
}

/** Creates a user; a taken name is a validation error on `name`. */
export async function createUser(sql: Queryable, u: NewUser): Promise<string> {
  const id = crypto.randomUUID();
  try {
    await sql`INSERT INTO "user" (id, name, email, password_hash, sysadmin)
      VALUES (${id}, ${u.name}, ${u.email}, ${u.passwordHash}, ${u.sysadmin})`;
  } catch (error) {
    if ((error as { constraint_name?: string }).constraint_name === "user_name_key") {
      throw ValidationError.of("name", `That login name is not available: ${u.name}`);
    }
    throw error;
  }
  return id;
}

/** The password hash of an active user, for signing in; undefined for an unknown name. */
export async function credentials(
  sql: Queryable,
  name: string,
): Promise<{ id: string; password_hash: string | null } | undefined> {
  const [user] = await sql<{ id: string; password_hash: string | null }[]>`
    SELECT id, password_hash FROM "user" WHERE name = ${name} AND state = 'active'`;
  return user;
}

export interface UserRecord {
  id: string;
  name: string;
  email: string | null;
  sysadmin: boolean;
  state: string;
  created: Date;
  organizations: { name: string; capacity: string }[];
}

/** A user with their organizations and roles. */
export async function userRecord(sql: Queryable, id: string): Promise<UserRecord> {
  const [u] = await sql<Omit<UserRecord, "organizations">[]>`
    SELECT id, name, email, sysadmin, state, created FROM "user" WHERE id = ${id}`;
  if (!u) throw new NotFoundError(`User not found: ${id}`);
  const organizations = await sql<{ name: string; capacity: string }[]>`
    SELECT g.name, m.capacity FROM membership m JOIN "group" g ON g.id = m.group_id WHERE m.user_id = ${id}
    ORDER BY g.name`;
  return { ...u, organizations: [...organizations] };
}

/** Ids of active users by name, a page at a time. */
export async function listUserIds(sql: Queryable, limit: number, offset: number): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM "user" WHERE state = 'active' ORDER BY name LIMIT ${limit} OFFSET ${offset}`;
  return rows.map((r) => r.id);
}

/** Sysadmins, then the admins of an organization, each with a non-blank e-mail, oldest first. */
export async function adminsWithEmail(
  sql: Queryable,
  orgId: string | null,
): Promise<{ name: string; email: string }[]> {
  return await sql<{ name: string; email: string }[]>`
    SELECT name, email FROM (
      SELECT u.name, u.email, 0 AS rank, u.created FROM "user" u
        WHERE u.sysadmin AND u.state = 'active' AND coalesce(trim(u.email), '') <> ''
      UNION ALL
      SELECT u.name, u.email, 1 AS rank, u.created FROM "user" u JOIN membership m ON m.user_id = u.id
        WHERE m.group_id = ${orgId ?? ""} AND m.capacity = 'admin' AND u.state = 'active'
          AND coalesce(trim(u.email), '') <> ''
    ) r ORDER BY rank, created, name`;
}

/** Gives a user a role in a group, or changes it. */
export async function setMembership(
  sql: Queryable,
  groupId: string,
  userId: string,
  capacity: Capacity,
): Promise<void> {
  await sql`INSERT INTO membership (group_id, user_id, capacity) VALUES (${groupId}, ${userId}, ${capacity})
    ON CONFLICT (group_id, user_id) DO UPDATE SET capacity = excluded.capacity`;
}

/** Removes a user from a group; false when they were not in it. */
export async function removeMembership(sql: Queryable, groupId: string, userId: string): Promise<boolean> {
  const removed =
    await sql`DELETE FROM membership WHERE group_id = ${groupId} AND user_id = ${userId} RETURNING user_id`;
  return removed.length > 0;
}

/** The actor's role in an organization, if any. */
export async function capacityIn(sql: Queryable, actor: Actor, orgId: string | null): Promise<Capacity | undefined> {
  if (!actor.id || !orgId) return undefined;
  const [m] = await sql<{ capacity: Capacity }[]>`
    SELECT capacity FROM membership WHERE user_id = ${actor.id} AND group_id = ${orgId}`;
  return m?.capacity;
}

/** Organizations (and groups) the actor is a member of, in any role. */
export async function memberOrgIds(sql: Queryable, actor: Actor): Promise<string[]> {
  if (!actor.id) return [];
  const rows = await sql<{ group_id: string }[]>`SELECT group_id FROM membership WHERE user_id = ${actor.id}`;
  return rows.map((r) => r.group_id);
}

/** Organizations and groups in which the actor is an editor or admin. */
export async function editorOrgIds(sql: Queryable, actor: Actor): Promise<string[]> {
  if (!actor.id) return [];
  const rows = await sql<{ group_id: string }[]>`
    SELECT group_id FROM membership WHERE user_id = ${actor.id} AND capacity IN ('admin', 'editor')`;
  return rows.map((r) => r.group_id);
}

/** Groups (not organizations) the actor may add datasets to: those it edits or administers. */
export async function writableGroups(sql: Queryable, actor: Actor): Promise<{ id: string; name: string }[]> {
  return await sql<{ id: string; name: string }[]>`
    SELECT g.id, g.name FROM "group" g JOIN membership m ON m.group_id = g.id
    WHERE NOT g.is_organization AND m.user_id = ${actor.id ?? ""} AND m.capacity IN ('admin', 'editor')`;
}

/** Sources follow their organization: its editors and admins manage them. */
export async function canEditSource(sql: Queryable, actor: Actor, source: { owner_org: string | null }) {
  if (actor.sysadmin) return true;
  const capacity = await capacityIn(sql, actor, source.owner_org);
  return capacity === "admin" || capacity === "editor";
}

export async function canReadSource(
  sql: Queryable,
  actor: Actor,
  source: { owner_org: string | null; private: boolean; state: string },
) {
  if (actor.sysadmin) return true;
  if (!source.private && source.state === "active") return true;
  return (await capacityIn(sql, actor, source.owner_org)) !== undefined;
}

/** True when the actor edits or administers at least one organization (so may create sources). */
export async function editsAnyOrganization(sql: Queryable, actor: Actor): Promise<boolean> {
  if (!actor.id) return false;
  const rows = await sql`
    SELECT 1 FROM membership m JOIN "group" g ON g.id = m.group_id
    WHERE m.user_id = ${actor.id} AND m.capacity IN ('admin', 'editor') AND g.is_organization AND g.state = 'active'
    LIMIT 1`;
  return rows.length > 0;
}
