import { sourceDatasetCounts } from "./tallies.ts";
import type { Queryable } from "../db/mod.ts";
import { NotFoundError, ValidationError } from "../errors/mod.ts";
import { harvestTime } from "./dicts.ts";

/** A `harvest_source` row. */
export interface SourceRow {
  id: string;
  name: string;
  title: string;
  notes: string;
  url: string;
  url_normalized: string;
  type: string;
  config: string;
  frequency: string;
  owner_org: string | null;
  private: boolean;
  state: "active" | "deleted";
  creator_user_id: string | null;
  created: Date;
  metadata_modified: Date;
  next_run: Date | null;
}

/**
 * The URL as compared for uniqueness, as the original does: default ports, a trailing slash, the
 * query and the fragment removed, host lower-cased.
 */
export function normalizeUrl(url: string): string {
  try {
    const u = new URL(url.trim());
    const port = (u.protocol === "http:" && u.port === "80") || (u.protocol === "https:" && u.port === "443")
      ? ""
      : u.port;
    const path = u.pathname.replace(/\/+$/, "");
    return `${u.protocol}//${u.hostname.toLowerCase()}${port ? `:${port}` : ""}${path}`;
  } catch {
    return url.trim();
  }
}

/** Finds a source by id or name; throws NotFoundError naming what was asked. */
export async function getSource(sql: Queryable, idOrName: string): Promise<SourceRow> {
  const rows = await sql<SourceRow[]>`
    SELECT * FROM harvest_source WHERE id = ${idOrName} OR name = ${idOrName}
    ORDER BY (id = ${idOrName}) DESC LIMIT 1`;
  if (!rows[0]) throw new NotFoundError(`Harvest source not found: ${idOrName}`);
  return rows[0];
}

/** What `status` says of a source: its job count, newest job and number of current datasets. */
export async function sourceStatusCounts(
  sql: Queryable,
  sourceId: string,
): Promise<{ job_count: number; last_job_id: string | null; total_datasets: number }> {
  const [row] = await sql<{ job_count: number; last_job_id: string | null }[]>`
    SELECT
      (SELECT count(*)::int FROM harvest_job WHERE source_id = ${sourceId}) AS job_count,
      (SELECT id FROM harvest_job WHERE source_id = ${sourceId} ORDER BY created DESC LIMIT 1) AS last_job_id`;
  return { ...row!, total_datasets: (await sourceDatasetCounts(sql, [sourceId])).get(sourceId) ?? 0 };
}

/**
 * The source dict of `harvest_source_show`. `withConfig` decides whether the config (and its keys at
 * the top level, as the original adds them) is included: only for those who may edit the source.
 */
export function sourceDict(
  s: SourceRow,
  extra: { organization: Record<string, unknown> | null; status: Record<string, unknown>; withConfig: boolean },
): Record<string, unknown> {
  const dict: Record<string, unknown> = {
    id: s.id,
    name: s.name,
    title: s.title,
    notes: s.notes,
    url: s.url,
    type: "harvest",
    source_type: s.type,
    frequency: s.frequency,
    owner_org: s.owner_org,
    organization: extra.organization,
    private: s.private,
    state: s.state,
    active: s.state === "active",
    creator_user_id: s.creator_user_id,
    metadata_created: harvestTime(s.created),
    metadata_modified: harvestTime(s.metadata_modified),
    next_run: harvestTime(s.next_run),
  };
  if (extra.withConfig) {
    let parsed: unknown = {};
    try {
      parsed = s.config ? JSON.parse(s.config) : {};
    } catch { /* a config that is not JSON has no keys to lift */ }
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      for (const [k, v] of Object.entries(parsed)) if (!(k in dict)) dict[k] = v;
    }
    dict.config = s.config;
  }
  dict.status = extra.status;
  return dict;
}

/** Points a source at a new URL (the demo's sample server moves between runs). */
export async function updateSourceUrl(sql: Queryable, id: string, url: string): Promise<void> {
  await sql`UPDATE harvest_source SET url = ${url}, url_normalized = ${normalizeUrl(url)}, metadata_modified = now()
    WHERE id = ${id}`;
}

export interface SourceWrite {
  name: string;
  title: string;
  notes: string;
  url: string;
  type: string;
  config: string;
  frequency: string;
  owner_org: string | null;
  private: boolean;
  state: string;
}

/** Inserts a source; a taken name is a validation error on `name`. */
export async function insertSource(sql: Queryable, w: SourceWrite, creator: string | null): Promise<string> {
  const id = crypto.randomUUID();
  try {
    await sql`INSERT INTO harvest_source (id, name, title, notes, url, url_normalized, type, config, frequency,
        owner_org, private, state, creator_user_id)
      VALUES (${id}, ${w.name}, ${w.title}, ${w.notes}, ${w.url}, ${normalizeUrl(w.url)}, ${w.type}, ${w.config},
        ${w.frequency}, ${w.owner_org}, ${w.private}, ${w.state}, ${creator})`;
  } catch (error) {
    if ((error as { constraint_name?: string }).constraint_name === "harvest_source_name_key") {
      throw ValidationError.of("name", `That name is already in use: ${w.name}`);
    }
    throw error;
  }
  return id;
}

export async function updateSource(sql: Queryable, id: string, w: SourceWrite): Promise<void> {
  await sql`UPDATE harvest_source SET name = ${w.name}, title = ${w.title}, notes = ${w.notes}, url = ${w.url},
      url_normalized = ${normalizeUrl(w.url)}, type = ${w.type}, config = ${w.config}, frequency = ${w.frequency},
      owner_org = ${w.owner_org}, private = ${w.private}, state = ${w.state}, metadata_modified = now()
    WHERE id = ${id}`;
}

export async function deactivateSource(sql: Queryable, id: string): Promise<void> {
  await sql`UPDATE harvest_source SET state = 'deleted', metadata_modified = now() WHERE id = ${id}`;
}

export async function sourceIdByUrl(sql: Queryable, url: string): Promise<string | undefined> {
  const [row] = await sql<{ id: string }[]>`SELECT id FROM harvest_source WHERE url = ${url}`;
  return row?.id;
}

export async function sourceExists(sql: Queryable, id: string): Promise<boolean> {
  return (await sql`SELECT 1 FROM harvest_source WHERE id = ${id}`).length > 0;
}

/** Who sees which sources: everything, or public active ones plus those of `orgIds`. */
export interface SourceVisibility {
  all: boolean;
  orgIds: string[];
}

/** Sources as `harvest_source_list` filters them, newest first. */
export async function listSources(
  sql: Queryable,
  visibility: SourceVisibility,
  filter: { organization: string | null; onlyActive: boolean; onlyToRun: boolean; limit: number; offset: number },
): Promise<SourceRow[]> {
  return await sql<SourceRow[]>`
    SELECT * FROM harvest_source s
    WHERE (${visibility.all} OR (NOT s.private AND s.state = 'active') OR s.owner_org = ANY(${visibility.orgIds}))
      AND (${filter.organization}::text IS NULL OR s.owner_org = ${filter.organization}
        OR s.owner_org IN (SELECT id FROM "group" WHERE name = ${filter.organization}))
      AND (NOT ${filter.onlyActive} OR s.state = 'active')
      AND (NOT ${filter.onlyToRun} OR (s.frequency <> 'MANUAL' AND s.state = 'active'
        AND (s.next_run IS NULL OR s.next_run <= now())))
    ORDER BY s.created DESC, s.id LIMIT ${filter.limit} OFFSET ${filter.offset}`;
}

/** One line of a source list: what the web list searches, facets and sorts on. */
export interface SourceBrief {
  id: string;
  name: string;
  title: string;
  notes: string;
  url: string;
  source_type: string;
  frequency: string;
  created: Date;
  organization: string | null;
  last_job: { status: string; created: Date; errored: number } | null;
}

/**
 * Every active source visible, briefly, in two statements whatever their number, newest first:
 * for lists that search, facet and sort them all and then show one page.
 */
export async function sourceBriefs(
  sql: Queryable,
  visibility: SourceVisibility,
): Promise<(Omit<SourceBrief, "last_job"> & { job_id: string | null; job_status: string; job_created: Date })[]> {
  return await sql<
    (Omit<SourceBrief, "last_job"> & { job_id: string | null; job_status: string; job_created: Date })[]
  >`
    SELECT s.id, s.name, s.title, s.notes, s.url, s.type AS source_type, s.frequency, s.created,
      g.name AS organization, j.id AS job_id, j.status AS job_status, j.created AS job_created
    FROM harvest_source s LEFT JOIN "group" g ON g.id = s.owner_org
      LEFT JOIN LATERAL (SELECT id, status, created FROM harvest_job WHERE source_id = s.id
        ORDER BY created DESC LIMIT 1) j ON true
    WHERE s.state = 'active'
      AND (${visibility.all} OR (NOT s.private AND s.state = 'active') OR s.owner_org = ANY(${visibility.orgIds}))
    ORDER BY s.created DESC, s.id`;
}

/** Active sources due to run by their frequency, the longest waiting first. */
export async function dueSources(sql: Queryable): Promise<{ id: string; name: string; frequency: string }[]> {
  return await sql<{ id: string; name: string; frequency: string }[]>`
    SELECT id, name, frequency FROM harvest_source
    WHERE state = 'active' AND frequency <> 'MANUAL' AND (next_run IS NULL OR next_run <= now())
    ORDER BY next_run NULLS FIRST, created`;
}

export async function setNextRun(sql: Queryable, id: string, at: Date | null): Promise<void> {
  await sql`UPDATE harvest_source SET next_run = ${at} WHERE id = ${id}`;
}

/** Active sources without a New or Running job, oldest first (`harvest_job_create_all`). */
export async function sourcesWithoutPendingJob(sql: Queryable): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM harvest_source s WHERE state = 'active'
      AND NOT EXISTS (SELECT 1 FROM harvest_job j WHERE j.source_id = s.id AND j.status IN ('New', 'Running'))
    ORDER BY created`;
  return rows.map((r) => r.id);
}

/** Every source's id, oldest first, whatever its state. */
export async function allSourceIds(sql: Queryable): Promise<string[]> {
  return (await sql<{ id: string }[]>`SELECT id FROM harvest_source ORDER BY created`).map((r) => r.id);
}

/** The name of another active source with the same URL (normalized) and config, if any. */
export async function duplicateSource(
  sql: Queryable,
  url: string,
  config: string,
  exceptId = "",
): Promise<string | undefined> {
  const [dup] = await sql<{ name: string }[]>`
    SELECT name FROM harvest_source WHERE url_normalized = ${normalizeUrl(url)} AND config = ${config}
      AND state = 'active' AND id <> ${exceptId}`;
  return dup?.name;
}

/** True when a source other than `exceptId` has this name. */
export async function sourceNameTaken(sql: Queryable, name: string, exceptId = ""): Promise<boolean> {
  return (await sql`SELECT 1 FROM harvest_source WHERE name = ${name} AND id <> ${exceptId}`).length > 0;
}

/** Every active source, oldest first. */
export async function activeSources(sql: Queryable): Promise<SourceRow[]> {
  return await sql<SourceRow[]>`SELECT * FROM harvest_source WHERE state = 'active' ORDER BY created`;
}
