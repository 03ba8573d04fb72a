import { extentOf } from "./extent.ts";
import { z } from "zod";
import type { Queryable } from "../db/mod.ts";

const text = z.union([z.string(), z.number(), z.boolean()]).nullish().transform((v) => v == null ? null : String(v));
const jsonValue = z.unknown().transform((v) => typeof v === "string" ? v : JSON.stringify(v) ?? "");

const tagSchema = z.union([
  z.string(),
  z.looseObject({ name: z.string(), vocabulary_id: z.string().nullish() }),
]).transform((t) =>
  typeof t === "string" ? { name: t, vocabulary_id: null } : {
    name: t.name,
    vocabulary_id: t.vocabulary_id ?? null,
  }
);

const groupRefSchema = z.union([
  z.string().transform((s) => ({ id: undefined, name: s })),
  z.looseObject({ id: z.string().nullish(), name: z.string().nullish() }),
]);

const RESOURCE_COLUMNS = [
  "id",
  "package_id",
  "position",
  "url",
  "name",
  "description",
  "format",
  "mimetype",
  "size",
  "hash",
  "created",
  "last_modified",
] as const;

const resourceSchema = z.looseObject({
  id: z.string().min(1).nullish(),
  url: text,
  name: text,
  description: text,
  format: text,
  mimetype: text,
  size: z.union([z.number(), z.string().regex(/^\d+$/)]).nullish().transform((v) => v == null ? null : Number(v)),
  hash: text,
  created: text,
  last_modified: text,
});

/** A dataset as harvesters and the package actions hand it in: CKAN's package dict, leniently read. */
export const packageInputSchema = z.looseObject({
  id: z.string().min(1).nullish(),
  name: z.string().nullish(),
  title: text,
  notes: text,
  url: text,
  version: text,
  author: text,
  author_email: text,
  maintainer: text,
  maintainer_email: text,
  license_id: text,
  owner_org: z.string().nullish(),
  private: z.union([z.boolean(), z.enum(["true", "false", "True", "False"])]).nullish()
    .transform((v) => v === true || v === "true" || v === "True"),
  state: z.enum(["active", "deleted", "draft"]).nullish(),
  type: z.string().nullish(),
  tags: z.array(tagSchema).nullish(),
  groups: z.array(groupRefSchema).nullish(),
  extras: z.union([
    z.array(z.object({ key: z.string().min(1), value: jsonValue })),
    z.record(z.string(), jsonValue).transform((r) => Object.entries(r).map(([key, value]) => ({ key, value }))),
  ]).nullish(),
  resources: z.array(resourceSchema).nullish(),
});

export type PackageInput = z.input<typeof packageInputSchema>;
export type PackageParsed = z.output<typeof packageInputSchema>;

/** The row values a dataset write needs, after the import decided id, name, owner and groups. */
export interface PackageWrite {
  id: string;
  name: string;
  pkg: PackageParsed;
  ownerOrg: string | null;
  groupIds: string[];
  /** True on create: sets metadata_created. */
  create: boolean;
}

function resourceRow(r: z.output<typeof resourceSchema>, packageId: string, position: number, id: string) {
  const extras: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (!(RESOURCE_COLUMNS as readonly string[]).includes(k) && !["url_type", "revision_id"].includes(k)) {
      extras[k] = v;
    }
  }
  const ts = (v: string | null) => v && !Number.isNaN(Date.parse(v.endsWith("Z") ? v : `${v}Z`)) ? v : null;
  return {
    id,
    package_id: packageId,
    position,
    url: r.url ?? "",
    name: r.name,
    description: r.description,
    format: r.format,
    mimetype: r.mimetype,
    size: r.size,
    hash: r.hash,
    created: ts(r.created),
    last_modified: ts(r.last_modified),
    extras,
  };
}

/**
 * Writes one dataset with its extras, tags, groups and resources, replacing what was there. Runs
 * inside the caller's transaction so the dataset and its harvest object change together. A create
 * is one statement (the row and its children); an update is two (the row with the old children
 * removed, then the new children): a harvest writes thousands of datasets, and each statement is a
 * round trip.
 */
export async function writePackage(tx: Queryable, w: PackageWrite): Promise<boolean> {
  const p = w.pkg;
  const tags = [...new Map((p.tags ?? []).filter((t) => t.name.length > 0).map((t) => [t.name, t])).values()];
  const extras = [...new Map((p.extras ?? []).map((e) => [e.key, e.value])).entries()];
  const tagText = tags.map((t) => t.name).join(" ");
  const extent = extentOf(extras.find(([key]) => key === "spatial")?.[1]) ?? null;
  const values = tx`(${w.id}, ${w.name}, ${p.title ?? ""}, ${p.notes}, ${p.url}, ${p.version}, ${p.author},
      ${p.author_email}, ${p.maintainer}, ${p.maintainer_email}, ${p.license_id}, ${w.ownerOrg},
      ${p.private}, ${p.state ?? "active"}, ${p.type ?? "dataset"}, now(), now(),
      setweight(to_tsvector('english', ${p.title ?? ""} || ' ' || ${w.name}), 'A') ||
      setweight(to_tsvector('english', ${tagText}), 'B') ||
      setweight(to_tsvector('english', coalesce(${p.notes}::text, '')), 'C'), ${extent}::box)`;
  const columns = tx`(id, name, title, notes, url, version, author, author_email, maintainer,
      maintainer_email, license_id, owner_org, private, state, type, metadata_created, metadata_modified,
      search_vector, extent)`;
  const groupIds = [...new Set(w.groupIds)];
  const seen = new Set<string>();
  const resources = (p.resources ?? []).map((r, i) => {
    const id = r.id && !seen.has(r.id) ? r.id : crypto.randomUUID();
    seen.add(id);
    return resourceRow(r, w.id, i, id);
  });
  // The children of the dataset `p` names. A remote resource id another dataset already uses (two
  // sources, one remote) gets a fresh id instead. That check is a scalar subquery, one index probe
  // per resource: as EXISTS, the generic plan hashed the whole resource table for every dataset.
  const children = tx`
    e AS (
      INSERT INTO package_extra (package_id, key, value)
      SELECT p.id, x.key, x.value FROM p, jsonb_to_recordset(${
    tx.json(extras.map(([key, value]) => ({ key, value })))
  }) AS x(key text, value text)),
    t AS (
      INSERT INTO package_tag (package_id, name, vocabulary_id)
      SELECT p.id, x.name, x.vocabulary_id FROM p, jsonb_to_recordset(${tx.json(tags as never)})
        AS x(name text, vocabulary_id text)),
    g AS (
      INSERT INTO package_group (package_id, group_id)
      SELECT p.id, x FROM p, jsonb_array_elements_text(${tx.json(groupIds)}) AS x),
    r AS (
      INSERT INTO resource (id, package_id, position, url, name, description, format, mimetype, size, hash,
        created, last_modified, extras)
      SELECT CASE WHEN (SELECT o.package_id FROM resource o WHERE o.id = x.id) <> p.id
          THEN gen_random_uuid()::text ELSE x.id END,
        p.id, x.position, x.url, x.name, x.description, x.format, x.mimetype, x.size, x.hash,
        x.created::timestamptz, x.last_modified::timestamptz, coalesce(x.extras, '{}')
      FROM p, jsonb_to_recordset(${tx.json(resources as never)}) AS x(id text, position int, url text, name text,
        description text, format text, mimetype text, size bigint, hash text, created text, last_modified text,
        extras jsonb))`;
  const hasChildren = extras.length + tags.length + groupIds.length + resources.length > 0;
  if (w.create) {
    // A name or id another writer took since it was chosen: nothing is written, the caller picks again.
    const inserted = await tx`
      WITH p AS (INSERT INTO package ${columns} VALUES ${values} ON CONFLICT DO NOTHING RETURNING id)
      ${hasChildren ? tx`, ${children}` : tx``}
      SELECT id FROM p`;
    return inserted.length > 0;
  }
  await tx`
    WITH e AS (DELETE FROM package_extra WHERE package_id = ${w.id}),
      t AS (DELETE FROM package_tag WHERE package_id = ${w.id}),
      g AS (DELETE FROM package_group WHERE package_id = ${w.id}),
      r AS (DELETE FROM resource WHERE package_id = ${w.id})
    INSERT INTO package ${columns} VALUES ${values}
    ON CONFLICT (id) DO UPDATE SET
      name = excluded.name, title = excluded.title, notes = excluded.notes, url = excluded.url,
      version = excluded.version, author = excluded.author, author_email = excluded.author_email,
      maintainer = excluded.maintainer, maintainer_email = excluded.maintainer_email,
      license_id = excluded.license_id, owner_org = excluded.owner_org, private = excluded.private,
      state = excluded.state, type = excluded.type, metadata_modified = now(),
      search_vector = excluded.search_vector, extent = excluded.extent`;
  if (hasChildren) await tx`WITH p AS (SELECT ${w.id}::text AS id), ${children} SELECT 1`;
  return true;
}

const TS = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;

/**
 * The package dicts of the given ids, in CKAN 2.10's `package_show` shape, in the order asked. Given
 * a viewer, the harvest fields (source id and title, object id) appear only where the viewer may see
 * the source: a private source is not revealed through its public datasets.
 */
export async function readPackages(
  sql: Queryable,
  ids: string[],
  viewer?: { sysadmin: boolean; orgIds: string[] },
): Promise<Record<string, unknown>[]> {
  if (ids.length === 0) return [];
  const rows = await sql.unsafe(
    `
    SELECT p.id, p.name, p.title, p.notes, p.url, p.version, p.author, p.author_email, p.maintainer,
      p.maintainer_email, p.license_id, p.owner_org, p.private, p.state, p.type,
      ${TS("p.metadata_created")} AS metadata_created, ${TS("p.metadata_modified")} AS metadata_modified,
      (SELECT json_build_object('id', g.id, 'name', g.name, 'title', g.title, 'description', g.description,
          'image_url', g.image_url, 'type', 'organization', 'state', g.state, 'is_organization', true,
          'approval_status', 'approved', 'created', ${TS("g.created")})
        FROM "group" g WHERE g.id = p.owner_org) AS organization,
      (SELECT coalesce(json_agg(json_build_object('key', e.key, 'value', e.value) ORDER BY e.key), '[]')
        FROM package_extra e WHERE e.package_id = p.id) AS extras,
      (SELECT coalesce(json_agg(json_build_object('name', t.name, 'display_name', t.name, 'state', 'active',
          'vocabulary_id', t.vocabulary_id) ORDER BY t.name), '[]')
        FROM package_tag t WHERE t.package_id = p.id) AS tags,
      (SELECT coalesce(json_agg(json_build_object('id', g.id, 'name', g.name, 'title', g.title,
          'display_name', coalesce(nullif(g.title, ''), g.name), 'description', g.description,
          'image_display_url', g.image_url) ORDER BY g.name), '[]')
        FROM package_group pg JOIN "group" g ON g.id = pg.group_id WHERE pg.package_id = p.id) AS groups,
      (SELECT coalesce(json_agg(r.extras || json_build_object('id', r.id, 'package_id', r.package_id,
          'position', r.position, 'url', r.url, 'name', r.name, 'description', r.description,
          'format', r.format, 'mimetype', r.mimetype, 'size', r.size, 'hash', r.hash,
          'created', ${TS("r.created")}, 'last_modified', ${TS("r.last_modified")})::jsonb
          ORDER BY r.position), '[]')
        FROM resource r WHERE r.package_id = p.id) AS resources,
      (SELECT json_build_object('harvest_object_id', o.id, 'harvest_source_id', o.harvest_source_id,
          'harvest_source_title', s.title)
        FROM harvest_object o JOIN harvest_source s ON s.id = o.harvest_source_id
        WHERE o.package_id = p.id AND o.current
          AND ($2::boolean OR (NOT s.private AND s.state = 'active') OR s.owner_org = ANY($3::text[]))
        ORDER BY o.import_finished DESC NULLS LAST LIMIT 1) AS harvest
    FROM package p WHERE p.id = ANY($1)`,
    [ids, viewer ? viewer.sysadmin : true, viewer?.orgIds ?? []],
  );
  const byId = new Map<string, Record<string, unknown>>();
  for (const row of rows) {
    const { harvest, ...pkg } = row as unknown as Record<string, unknown> & { harvest: Record<string, unknown> | null };
    const dict: Record<string, unknown> = {
      ...pkg,
      num_resources: (pkg.resources as unknown[]).length,
      num_tags: (pkg.tags as unknown[]).length,
    };
    if (harvest) {
      // Where CKAN clients (and ckanext-harvest's own tests) read them: in extras; top-level too.
      Object.assign(dict, harvest);
      const extras = (dict.extras as { key: string; value: unknown }[]).filter((e) => !(e.key in harvest));
      for (const [key, value] of Object.entries(harvest)) extras.push({ key, value });
      dict.extras = extras.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    }
    byId.set(pkg.id as string, dict);
  }
  return ids.map((id) => byId.get(id)).filter((d): d is Record<string, unknown> => d !== undefined);
}

export interface PackageRef {
  id: string;
  name: string;
  owner_org: string | null;
  private: boolean;
  state: string;
}

/** The dataset an id or a name denotes (an id wins over another dataset's equal name), any state. */
export async function findPackage(sql: Queryable, idOrName: string): Promise<PackageRef | undefined> {
  const [row] = await sql<PackageRef[]>`
    SELECT id, name, owner_org, private, state FROM package WHERE id = ${idOrName} OR name = ${idOrName}
    ORDER BY (id = ${idOrName}) DESC LIMIT 1`;
  return row;
}

/** True when a dataset other than `exceptId` has this name. */
export async function nameTaken(sql: Queryable, name: string, exceptId = ""): Promise<boolean> {
  return (await sql`SELECT 1 FROM package WHERE name = ${name} AND id <> ${exceptId}`).length > 0;
}

export async function packageIdTaken(sql: Queryable, id: string): Promise<boolean> {
  return (await sql`SELECT 1 FROM package WHERE id = ${id}`).length > 0;
}

/** Marks datasets deleted (CKAN's soft delete: they stay, hidden, and a harvest may bring them back). */
export async function markPackagesDeleted(sql: Queryable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`UPDATE package SET state = 'deleted', metadata_modified = now() WHERE id = ANY(${ids})`;
}

/** Removes datasets and everything hanging off them (extras, tags, groups, resources cascade). */
export async function purgePackages(sql: Queryable, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`DELETE FROM package WHERE id = ANY(${ids})`;
}

/** Names of the tags on active public datasets that start with `prefix`, by name. */
export async function tagNames(sql: Queryable, prefix: string, limit: number, offset: number): Promise<string[]> {
  const q = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
  const rows = await sql<{ name: string }[]>`
    SELECT DISTINCT t.name FROM package_tag t JOIN package p ON p.id = t.package_id
    WHERE p.state = 'active' AND NOT p.private AND t.name ILIKE ${q + "%"}
    ORDER BY t.name LIMIT ${limit} OFFSET ${offset}`;
  return rows.map((r) => r.name);
}

/** When each of these datasets last changed, as stored: what a preview's fingerprint takes from the local side. */
export async function modifiedTimes(sql: Queryable, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await sql<{ id: string; modified: string }[]>`
    SELECT id, metadata_modified::text AS modified FROM package WHERE id = ANY(${ids})`;
  return new Map(rows.map((r) => [r.id, r.modified]));
}

/** A dataset's name and title, as stored (inside the caller's transaction, what it wrote). */
export async function packageNameAndTitle(
  sql: Queryable,
  id: string,
): Promise<{ name: string; title: string } | undefined> {
  const [row] = await sql<{ name: string; title: string }[]>`SELECT name, title FROM package WHERE id = ${id}`;
  return row;
}
