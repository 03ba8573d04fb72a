/**
 * The local catalog: datasets in CKAN's package shape, written by imports and the package actions,
 * read by `package_show`, `package_list` and `package_search`.
 *
 * @module
 */
import { parseBbox } from "./extent.ts";
import type { Queryable } from "../db/mod.ts";
import { NotFoundError, ValidationError } from "../errors/mod.ts";
import { QueryCompiler } from "./query.ts";
import { readPackages } from "./package.ts";
import { countCatalog } from "./tally.ts";

export {
  findPackage,
  insertPackages,
  markPackagesDeleted,
  nameTaken,
  packageIdTaken,
  purgePackages,
  readPackages,
  tagNames,
  writePackage,
} from "./package.ts";
export type { PackageRef } from "./package.ts";
export type { PackageWrite } from "./package.ts";
export { PackageInputError, readPackageInput } from "./package_input.ts";
export type { PackageInput, PackageParsed } from "./package_input.ts";
export { ensureNameIsUnique, mungeTag, mungeTitleToName, NAME_PATTERN } from "./names.ts";

/** Who is reading: decides which private datasets are visible. */
export interface Viewer {
  sysadmin: boolean;
  /** Organizations whose private datasets the viewer may see. */
  orgIds: string[];
}

function visibility(viewer: Viewer, offset: number): { sql: string; params: unknown[] } {
  if (viewer.sysadmin) return { sql: "TRUE", params: [] };
  return {
    sql: `(NOT p.private OR p.owner_org = ANY($${offset + 1}))`,
    params: [viewer.orgIds],
  };
}

/** `package_show`: one dataset by id or name. */
export async function showPackage(sql: Queryable, idOrName: string, viewer: Viewer): Promise<Record<string, unknown>> {
  const rows = await sql<{ id: string; private: boolean; owner_org: string | null; state: string }[]>`
    SELECT id, private, owner_org, state FROM package WHERE id = ${idOrName} OR name = ${idOrName}
    ORDER BY (id = ${idOrName}) DESC LIMIT 1`;
  const row = rows[0];
  const visible = row && (viewer.sysadmin ||
    ((!row.private || (row.owner_org !== null && viewer.orgIds.includes(row.owner_org))) && row.state !== "deleted"));
  if (!row || !visible) throw new NotFoundError(`Dataset not found: ${idOrName}`);
  return (await readPackages(sql, [row.id], viewer))[0]!;
}

/** `package_list`: names of active public datasets, by name. */
export async function listPackages(sql: Queryable, limit: number | undefined, offset: number): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    SELECT name FROM package WHERE state = 'active' AND NOT private AND type = 'dataset'
    ORDER BY name LIMIT ${limit ?? null} OFFSET ${offset}`;
  return rows.map((r) => r.name);
}

export interface SearchParams {
  q?: string;
  fq?: string;
  rows?: number;
  start?: number;
  sort?: string;
  include_private?: boolean;
  include_drafts?: boolean;
  /** Fields to count values of, e.g. ["organization", "tags"]. */
  facet_fields?: string[];
  facet_limit?: number;
  /** Comma-separated fields to return instead of whole datasets (cheap listings: `fl=id,metadata_modified`). */
  fl?: string;
  /** ckanext-spatial's `minx,miny,maxx,maxy`: only datasets whose extent intersects it. */
  ext_bbox?: string;
}

const FL_COLUMNS: Record<string, string> = {
  id: "p.id",
  name: "p.name",
  title: "p.title",
  metadata_modified: `to_char(p.metadata_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`,
  metadata_created: `to_char(p.metadata_created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`,
  owner_org: "p.owner_org",
  state: "p.state",
  private: "p.private",
};

const SORTABLE: Record<string, string> = {
  id: "p.id",
  name: "p.name",
  title: "lower(p.title)",
  title_string: "lower(p.title)",
  metadata_modified: "p.metadata_modified",
  metadata_created: "p.metadata_created",
};

function compileSort(sort: string | undefined, hasText: boolean, scoreSql: string): string {
  const spec = sort?.trim() || "score desc, metadata_modified desc";
  const parts = spec.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map((clause) => {
    const [field, dir = "asc"] = clause.split(/\s+/);
    if (!["asc", "desc"].includes(dir.toLowerCase())) {
      throw ValidationError.of("sort", `Cannot sort by "${clause}": the direction must be asc or desc`);
    }
    if (field === "score") return hasText ? `${scoreSql} ${dir}` : "";
    const column = SORTABLE[field!];
    if (!column) {
      throw ValidationError.of(
        "sort",
        `Cannot sort by "${field}": sortable fields are score, ${Object.keys(SORTABLE).join(", ")}`,
      );
    }
    return `${column} ${dir}`;
  }).filter((s) => s.length > 0);
  parts.push("p.id asc");
  return parts.join(", ");
}

const FACETS: Record<string, string> = {
  organization: `SELECT g.name AS value, g.title AS display, count(*)::int AS n FROM matched m
    JOIN "group" g ON g.id = m.owner_org GROUP BY g.name, g.title`,
  tags: `SELECT t.name AS value, t.name AS display, count(*)::int AS n FROM matched m
    JOIN package_tag t ON t.package_id = m.id GROUP BY t.name`,
  groups: `SELECT g.name AS value, g.title AS display, count(*)::int AS n FROM matched m
    JOIN package_group pg ON pg.package_id = m.id JOIN "group" g ON g.id = pg.group_id GROUP BY g.name, g.title`,
  res_format: `SELECT r.format AS value, r.format AS display, count(DISTINCT m.id)::int AS n FROM matched m
    JOIN resource r ON r.package_id = m.id WHERE coalesce(r.format, '') <> '' GROUP BY r.format`,
  license_id: `SELECT m.license_id AS value, m.license_id AS display, count(*)::int AS n FROM matched m
    WHERE m.license_id IS NOT NULL GROUP BY m.license_id`,
};

/** `package_search`: CKAN's result shape `{count, results, sort, facets, search_facets}`. */
export async function searchPackages(
  sql: Queryable,
  params: SearchParams,
  viewer: Viewer,
): Promise<Record<string, unknown>> {
  const rows = params.rows ?? 10;
  const start = params.start ?? 0;
  const allParams: unknown[] = [];
  const conds: string[] = [];
  /** Conditions beyond visibility, state and type: a query, a filter, a box. */
  let filters = 0;
  const q = (params.q ?? "").trim();
  const qc = new QueryCompiler("q");
  if (q && q !== "*:*") {
    filters++;
    conds.push(qc.compile(q));
    allParams.push(...qc.params);
  }
  const fc = new QueryCompiler("fq", allParams.length);
  if (params.fq?.trim()) {
    filters++;
    conds.push(fc.compile(params.fq));
    allParams.push(...fc.params);
  }
  if (params.ext_bbox !== undefined) {
    filters++;
    // `&&` on boxes: they overlap (edges touching count), answered from the GiST index.
    conds.push(`p.extent && $${allParams.push(parseBbox(params.ext_bbox))}::box`);
  }
  const vis = visibility(
    params.include_private ? viewer : { sysadmin: false, orgIds: viewer.sysadmin ? [] : viewer.orgIds },
    allParams.length,
  );
  if (!params.include_private) conds.push("NOT p.private");
  else {
    conds.push(vis.sql);
    allParams.push(...vis.params);
  }
  const states = params.include_drafts ? "('active', 'draft')" : "('active')";
  conds.push(`p.state IN ${states}`);
  if (!/\b(dataset_)?type:/.test(`${q} ${params.fq ?? ""}`)) conds.push(`p.type = 'dataset'`);
  const whereParams = allParams.slice();
  const hasText = q !== "" && q !== "*:*" && !q.includes(":");
  const textParam = hasText ? `$${allParams.push(q)}` : "";
  const score = hasText ? `ts_rank(p.search_vector, plainto_tsquery('english', ${textParam}::text))` : "0";
  const where = conds.join(" AND ");
  const order = compileSort(params.sort, hasText, score);
  const limitParam = `$${allParams.push(rows)}`;
  const offsetParam = `$${allParams.push(start)}`;
  const fl = params.fl?.split(",").map((f) => f.trim()).filter((f) => f.length > 0);
  const flOnly = fl && fl.length > 0 && fl.every((f) => f in FL_COLUMNS);
  const flSelect = flOnly ? fl.map((f) => `, ${FL_COLUMNS[f]} AS "fl_${f}"`).join("") : "";
  // With no query, filter or box, the conditions left (visibility, state, type) are the counter's
  // columns: the count comes from its few rows, and the page is the first rows of an index order.
  const counted = filters === 0 ? await countCatalog(sql, where, whereParams) : undefined;
  const page = await sql.unsafe(
    `SELECT p.id${flSelect}${counted === undefined ? ", count(*) OVER ()::int AS total" : ""} FROM package p
     WHERE ${where} ORDER BY ${order} LIMIT ${limitParam} OFFSET ${offsetParam}`,
    allParams as never[],
  );
  let count = counted ?? (page[0] as unknown as { total?: number } | undefined)?.total;
  if (count === undefined) {
    const c = await sql.unsafe(
      `SELECT count(*)::int AS n FROM package p WHERE ${where}`,
      whereParams as never[],
    );
    count = (c[0] as unknown as { n: number }).n;
  }
  const results = flOnly
    ? page.map((r) => Object.fromEntries(fl.map((f) => [f, (r as unknown as Record<string, unknown>)[`fl_${f}`]])))
    : await readPackages(sql, page.map((r) => (r as unknown as { id: string }).id), viewer);
  const facets: Record<string, Record<string, number>> = {};
  const searchFacets: Record<string, unknown> = {};
  for (const field of params.facet_fields ?? []) {
    const facetSql = FACETS[field];
    if (!facetSql) {
      throw ValidationError.of(
        "facet.field",
        `Cannot facet on "${field}": facet fields are ${Object.keys(FACETS).join(", ")}`,
      );
    }
    const items = await sql.unsafe(
      `WITH matched AS (SELECT p.* FROM package p WHERE ${where})
       ${facetSql} ORDER BY n DESC, value LIMIT ${Number(params.facet_limit ?? 50)}`,
      whereParams as never[],
    ) as unknown as { value: string; display: string; n: number }[];
    facets[field] = Object.fromEntries(items.map((i) => [i.value, i.n]));
    searchFacets[field] = {
      title: field,
      items: items.map((i) => ({ name: i.value, display_name: i.display || i.value, count: i.n })),
    };
  }
  return {
    count,
    results,
    sort: params.sort ?? "score desc, metadata_modified desc",
    facets,
    search_facets: searchFacets,
  };
}
