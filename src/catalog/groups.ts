/**
 * The owner of the `group` table: organizations and groups (CKAN keeps both in one table,
 * `is_organization` telling them apart).
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";
import { ValidationError } from "../errors/mod.ts";

export type GroupKind = "organization" | "group";

export interface GroupRef {
  id: string;
  name: string;
}

/**
 * The organization or group an id or a name denotes (an id wins over another group's equal name).
 * `active` (default true) leaves out deleted ones; `kind` undefined finds either.
 */
export async function findGroup(
  sql: Queryable,
  key: string,
  options: { kind?: GroupKind; active?: boolean } = {},
): Promise<GroupRef | undefined> {
  const kind = options.kind ?? null;
  const [g] = await sql<GroupRef[]>`
    SELECT id, name FROM "group" WHERE (id = ${key} OR name = ${key})
      AND (${kind}::text IS NULL OR is_organization = ${kind === "organization"})
      AND (NOT ${options.active ?? true} OR state = 'active')
    ORDER BY (id = ${key}) DESC LIMIT 1`;
  return g;
}

export interface NewGroup {
  id?: string;
  name: string;
  title?: string;
  description?: string;
  image_url?: string;
}

/** Creates a group; a taken name is a validation error on `name`. */
export async function createGroup(sql: Queryable, kind: GroupKind, g: NewGroup): Promise<string> {
  const id = g.id ?? crypto.randomUUID();
  try {
    await sql`INSERT INTO "group" (id, name, title, description, image_url, is_organization)
      VALUES (${id}, ${g.name}, ${g.title ?? g.name}, ${g.description ?? ""}, ${g.image_url ?? ""},
        ${kind === "organization"})`;
  } catch (error) {
    const constraint = (error as { constraint_name?: string }).constraint_name;
    if (constraint === "group_name_key") {
      throw ValidationError.of("name", `Group name already exists in database: ${g.name}`);
    }
    if (constraint === "group_pkey") throw ValidationError.of("id", `Group id already exists: ${id}`);
    throw error;
  }
  return id;
}

/**
 * Creates a group a harvested dataset names, or returns the one that took its name meanwhile
 * (concurrent imports may create the same group). Keeps the remote id unless it is taken.
 */
export async function createOrReuseGroup(sql: Queryable, kind: GroupKind, g: NewGroup): Promise<GroupRef> {
  const id = g.id && (await sql`SELECT 1 FROM "group" WHERE id = ${g.id}`).length === 0 ? g.id : crypto.randomUUID();
  const [row] = await sql<GroupRef[]>`
    INSERT INTO "group" (id, name, title, description, image_url, is_organization)
    VALUES (${id}, ${g.name}, ${g.title ?? g.name}, ${g.description ?? ""}, ${g.image_url ?? ""},
      ${kind === "organization"})
    ON CONFLICT (name) DO UPDATE SET name = excluded.name
    RETURNING id, name`;
  return row!;
}

/** Active groups of one kind by name, a page at a time. */
export async function listGroups(sql: Queryable, kind: GroupKind, limit: number, offset: number): Promise<GroupRef[]> {
  return await sql<GroupRef[]>`
    SELECT id, name FROM "group" WHERE is_organization = ${kind === "organization"} AND state = 'active'
    ORDER BY name LIMIT ${limit} OFFSET ${offset}`;
}

/** The organization brief a source dict carries. */
export async function organizationBrief(sql: Queryable, id: string | null): Promise<Record<string, unknown> | null> {
  if (!id) return null;
  const [g] = await sql<{ id: string; name: string; title: string; description: string; image_url: string }[]>`
    SELECT id, name, title, description, image_url FROM "group" WHERE id = ${id}`;
  return g ? { ...g, type: "organization", is_organization: true } : null;
}

/** The organization or group dict of `*_show`, with its count of active public datasets. */
export async function groupDict(sql: Queryable, id: string, kind: GroupKind): Promise<Record<string, unknown>> {
  const [g] = await sql`
    SELECT g.id, g.name, g.title, g.description, g.image_url, g.state,
      to_char(g.created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS created,
      (CASE WHEN g.is_organization
        THEN (SELECT count(*)::int FROM package p WHERE p.owner_org = g.id AND p.state = 'active' AND NOT p.private)
        ELSE (SELECT count(*)::int FROM package_group pg JOIN package p ON p.id = pg.package_id
          WHERE pg.group_id = g.id AND p.state = 'active' AND NOT p.private) END) AS package_count
    FROM "group" g WHERE g.id = ${id}`;
  return {
    ...g,
    display_name: g!.title || g!.name,
    type: kind,
    is_organization: kind === "organization",
    approval_status: "approved",
  };
}

/** The title of an organization, for mails and pages; undefined without one. */
export async function groupTitle(sql: Queryable, id: string | null): Promise<string | undefined> {
  if (!id) return undefined;
  const [g] = await sql<{ title: string; name: string }[]>`SELECT title, name FROM "group" WHERE id = ${id}`;
  return g ? g.title || g.name : undefined;
}
