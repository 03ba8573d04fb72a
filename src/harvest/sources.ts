import type { Queryable } from "../db/mod.ts";
import { NotFoundError } from "../errors/mod.ts";
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

/** The public, active datasets each source keeps in the catalog (`status.total_datasets`). */
export async function sourceDatasetCounts(sql: Queryable, sourceIds: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ id: string; n: number }[]>`
    SELECT o.harvest_source_id AS id, count(*)::int AS n FROM harvest_object o JOIN package p ON p.id = o.package_id
    WHERE o.harvest_source_id = ANY(${sourceIds}) AND o.current AND p.state = 'active' AND NOT p.private
    GROUP BY o.harvest_source_id`;
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** The organization dict embedded in source dicts. */
export async function organizationBrief(sql: Queryable, id: string | null): Promise<Record<string, unknown> | null> {
  if (!id) return null;
  const [g] = await sql<{ id: string; name: string; title: string; description: string; image_url: string }[]>`
    SELECT id, name, title, description, image_url FROM "group" WHERE id = ${id}`;
  return g ? { ...g, type: "organization", is_organization: true } : null;
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
