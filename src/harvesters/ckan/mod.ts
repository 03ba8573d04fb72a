/**
 * The `ckan` harvester: harvests a remote CKAN site (or another instance of this service) through
 * its action API, `package_search` page by page, storing each dataset's dict at gather.
 *
 * @module
 */
import { RemoteError, ValidationError } from "../../errors/mod.ts";
import { mungeTag } from "../../catalog/mod.ts";
import type {
  GatherContext,
  GatheredRecord,
  Harvester,
  ImportContext,
  ObjectInfo,
  SourceInfo,
  ValidateContext,
} from "../../harvest/interface.ts";
import type { HttpClient } from "../../http/mod.ts";
import { type CkanConfig, parseCkanConfig } from "./config.ts";

export { parseCkanConfig };
export type { CkanConfig };

/** The hook of harvesters that extend this one: change the dataset before it is written. */
export type ModifyPackageDict = (
  pkg: Record<string, unknown>,
  object: ObjectInfo,
  ctx: ImportContext,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

function baseUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

function headers(config: CkanConfig): Record<string, string> {
  const h: Record<string, string> = {};
  if (config.api_key) h.Authorization = config.api_key;
  if (config.user_agent) h["User-Agent"] = config.user_agent;
  return h;
}

/** Calls a remote CKAN action and returns its `result`, or throws a RemoteError saying why not. */
export async function callRemoteAction(
  http: HttpClient,
  base: string,
  action: string,
  params: Record<string, string>,
  options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<unknown> {
  const url = `${baseUrl(base)}/api/3/action/${action}?${new URLSearchParams(params)}`;
  const body = await http.getJson(url, { ...options, what: "remote CKAN" });
  if (!body || typeof body !== "object" || !("success" in body)) {
    throw new RemoteError(`Response from remote CKAN is not a CKAN API answer: ${url}`);
  }
  const envelope = body as { success: boolean; result?: unknown; error?: { message?: string } };
  if (!envelope.success) {
    throw new RemoteError(
      `Remote CKAN refused ${action}: ${envelope.error?.message ?? JSON.stringify(envelope.error)}`,
    );
  }
  return envelope.result;
}

function filterTerms(config: CkanConfig): string[] {
  const terms: string[] = [];
  // As the original writes them (`organization:org1`); only a value that is not a plain name is quoted.
  const value = (v: string) => /^[\w-]+$/.test(v) ? v : `"${v.replace(/"/g, '\\"')}"`;
  for (
    const [field, include, exclude] of [
      ["organization", config.organizations_filter_include, config.organizations_filter_exclude],
      ["groups", config.groups_filter_include, config.groups_filter_exclude],
    ] as const
  ) {
    if (include?.length === 1) terms.push(`${field}:${value(include[0]!)}`);
    else if (include?.length) terms.push(`(${include.map((v) => `${field}:${value(v)}`).join(" OR ")})`);
    for (const v of exclude ?? []) terms.push(`-${field}:${value(v)}`);
  }
  return terms;
}

function toSolrDate(d: Date): string {
  return d.toISOString();
}

/**
 * Pages through `package_search` sorted by id, yielding each page's datasets, and stops only at an
 * empty page, as the original does. A page shorter than asked is read two ways: when `count` says more
 * records remain, the remote caps its rows (`ckan.search.rows_max` below our page size) and the next
 * page starts right after the rows it returned (a pager that jumps by the rows it asked for, or stops
 * at the first short page, silently keeps a fraction of such a catalog); otherwise the next request is
 * where the original's would be (start + rows), which also catches datasets added while paging. A
 * dataset that moves between pages may come twice; the framework keeps one object per record per job,
 * so no set of seen ids is kept in memory (it grew with the catalog). A remote that serves a page it
 * served before, in any order, is looping and is stopped. `fl` asks for only some fields (CKAN 2.9+;
 * older sites ignore it and send everything).
 */
/** Rows asked per `package_search` page: the original's 100, which every CKAN's rows_max allows. */
const DEFAULT_ROWS = 100;

async function* searchPages(
  ctx: GatherContext,
  config: CkanConfig,
  fq: string,
  yielded: { count: number },
  fl?: string,
  stats: { count?: number; listed: number } = { listed: 0 },
): AsyncGenerator<Record<string, unknown>[]> {
  const rows = config.rows ?? DEFAULT_ROWS;
  // One short key per page (not per dataset): enough to tell a page served again from a new one.
  const pagesSeen = new Set<string>();
  for (let start = 0;;) {
    const params: Record<string, string> = { rows: String(rows), start: String(start), sort: "id asc" };
    if (fq) params.fq = fq;
    if (fl) params.fl = fl;
    const result = await callRemoteAction(ctx.http, ctx.source.url, "package_search", params, {
      headers: headers(config),
      signal: ctx.signal,
    }) as { results?: unknown; count?: unknown };
    if (start === 0 && typeof result?.count === "number") stats.count = result.count;
    if (!result || !Array.isArray(result.results)) {
      throw new RemoteError(`Response from remote CKAN has no result.results list: ${ctx.source.url}`);
    }
    const page = result.results as Record<string, unknown>[];
    stats.listed += page.length;
    if (page.length === 0) return;
    const key = `${page.length}:${String(page[0]?.id)}:${String(page.at(-1)?.id)}`;
    if (pagesSeen.has(key)) {
      throw new RemoteError(
        `The paging doesn't seem to work: the remote served the same page again at start=${start}`,
      );
    }
    pagesSeen.add(key);
    const fresh = page.filter((p) => typeof p.id === "string");
    yielded.count += fresh.length;
    yield fresh;
    const count = typeof result.count === "number" ? result.count : undefined;
    const capped = page.length < rows && (count === undefined || start + page.length < count);
    start += capped ? page.length : rows;
  }
}

function toRecords(page: Record<string, unknown>[]): GatheredRecord[] {
  return page.map((p) => ({
    guid: p.id as string,
    content: JSON.stringify(p),
    metadataModified: typeof p.metadata_modified === "string" ? p.metadata_modified : undefined,
  }));
}

async function* gather(ctx: GatherContext): AsyncGenerator<GatheredRecord[]> {
  let config: CkanConfig;
  try {
    config = parseCkanConfig(ctx.source.config);
  } catch (error) {
    await ctx.saveGatherError(`Invalid source configuration: ${(error as Error).message}`);
    return;
  }
  const base = baseUrl(ctx.source.url);
  const terms = filterTerms(config);
  const seen = { count: 0 };

  const baseline = config.force_all ? undefined : await ctx.lastErrorFreeJob();
  if (baseline) {
    // Incremental: the datasets modified since the baseline in full, then an id-only listing of the
    // rest, which are recorded as not modified without being transferred.
    const since = new Date(baseline.gather_started.getTime() - 60 * 60 * 1000);
    const fq = [...terms, `metadata_modified:[${toSolrDate(since)} TO *]`].join(" ");
    try {
      let modified = 0;
      for await (const page of searchPages(ctx, config, fq, seen)) {
        modified += page.length;
        if (page.length > 0) yield toRecords(page);
      }
      if (modified === 0) ctx.log.info("No datasets have been updated on the remote CKAN since {since}", { since });
      let listing = { listed: 0 } as { count?: number; listed: number };
      try {
        for await (const page of searchPages(ctx, config, terms.join(" "), seen, "id,metadata_modified", listing)) {
          if (page.length > 0) yield page.map((p) => ({ guid: p.id as string, unchanged: true }));
        }
      } catch (error) {
        // Older or minimal CKAN APIs refuse `fl` (a 400): list the same datasets in full instead.
        if (listing.listed > 0) throw error;
        ctx.log.info("The id-only listing was refused ({error}); listing every dataset in full", {
          error: (error as Error).message,
        });
        listing = { listed: 0 };
        for await (const page of searchPages(ctx, config, terms.join(" "), seen, undefined, listing)) {
          if (page.length > 0) yield page.map((p) => ({ guid: p.id as string, unchanged: true }));
        }
      }
      ctx.reportListing({ complete: listing.count === undefined || listing.listed >= listing.count });
      return;
    } catch (error) {
      if (seen.count > 0) throw error;
      ctx.log.info("Incremental search failed ({error}); falling back to a full harvest", {
        error: (error as Error).message,
      });
    }
  }

  let count = 0;
  const listing = { listed: 0 } as { count?: number; listed: number };
  try {
    for await (const page of searchPages(ctx, config, terms.join(" "), seen, undefined, listing)) {
      count += page.length;
      if (page.length > 0) yield toRecords(page);
    }
    ctx.reportListing({ complete: listing.count === undefined || listing.listed >= listing.count });
  } catch (error) {
    await ctx.saveGatherError(
      `Unable to search remote CKAN for datasets: ${(error as Error).message} url: ${base}` +
        (terms.length ? ` terms: ${terms.join(" ")}` : ""),
    );
    return;
  }
  if (count === 0) await ctx.saveGatherError(`No datasets found at CKAN: ${base}`);
}

const PLACEHOLDERS = [
  "dataset_id",
  "harvest_source_id",
  "harvest_source_url",
  "harvest_source_title",
  "harvest_job_id",
  "harvest_object_id",
] as const;

function formatExtra(value: string, vars: Record<(typeof PLACEHOLDERS)[number], string>): string {
  return value.replace(/\{([^{}]*)\}/g, (_, name: string) => {
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new Error(`Unknown placeholder {${name}} in default_extras; allowed: ${PLACEHOLDERS.join(", ")}`);
    }
    return vars[name as (typeof PLACEHOLDERS)[number]];
  });
}

async function fetchRemoteGroup(
  http: HttpClient,
  source: SourceInfo,
  config: CkanConfig,
  action: "group_show" | "organization_show",
  id: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    return await callRemoteAction(http, source.url, action, { id }, { headers: headers(config) }) as Record<
      string,
      unknown
    >;
  } catch {
    return undefined;
  }
}

/** Builds the local dataset from the stored remote dict (reference §5.4). */
async function importObject(ctx: ImportContext, modify?: ModifyPackageDict): Promise<true | "unchanged" | false> {
  const { object, source } = ctx;
  if (object.content === null) {
    await ctx.saveObjectError(`Empty content for object ${object.id}`, "Import");
    return false;
  }
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(object.content);
  } catch (error) {
    await ctx.saveObjectError(`Content of object ${object.id} is not JSON: ${(error as Error).message}`, "Import");
    return false;
  }
  if (pkg.type === "harvest") {
    ctx.log.info("Skipping remote harvest source {name}", { name: pkg.name });
    return "unchanged";
  }
  const config = parseCkanConfig(source.config);

  // Tags: defaults appended, optionally cleaned.
  let tags = Array.isArray(pkg.tags) ? (pkg.tags as unknown[]) : [];
  for (const t of config.default_tags ?? []) {
    if (!tags.some((x) => JSON.stringify(x) === JSON.stringify(t))) tags.push(t);
  }
  if (config.clean_tags) {
    tags = tags.map((t) =>
      typeof t === "string" ? mungeTag(t) : { ...(t as object), name: mungeTag(String((t as { name: unknown }).name)) }
    ).filter((t) => (typeof t === "string" ? t : (t as { name: string }).name).length > 0);
  }
  pkg.tags = tags;

  // Groups: dropped unless remote_groups says how to map them. A source that belongs to an organization
  // writes only into it (its config cannot be saved with remote_orgs or remote_groups; an older one is
  // not followed).
  const placed = !source.owner_org;
  const remoteGroups = Array.isArray(pkg.groups) ? pkg.groups as { id?: string; name?: string }[] : [];
  const groups: { id: string; name: string }[] = [];
  if (placed && (config.remote_groups === "only_local" || config.remote_groups === "create")) {
    for (const g of remoteGroups) {
      const local = (g.id && await ctx.catalog.findGroup(g.id, "group")) ||
        (g.name && await ctx.catalog.findGroup(g.name, "group"));
      if (local) groups.push(local);
      else if (config.remote_groups === "create" && (g.id || g.name)) {
        const remote = await fetchRemoteGroup(ctx.http, source, config, "group_show", (g.id ?? g.name)!);
        if (remote && typeof remote.name === "string") {
          groups.push(await ctx.catalog.createGroup(groupFields(remote), "group"));
        } else ctx.log.warning("Could not fetch remote group {group}", { group: g.id ?? g.name });
      }
    }
  }
  for (const name of config.default_groups ?? []) {
    const local = await ctx.catalog.findGroup(name, "group");
    if (local && !groups.some((g) => g.id === local.id)) groups.push(local);
  }
  pkg.groups = groups;

  // Organization: the source's unless remote_orgs maps the remote one.
  let ownerOrg = source.owner_org;
  if (
    placed && (config.remote_orgs === "only_local" || config.remote_orgs === "create") &&
    typeof pkg.owner_org === "string"
  ) {
    const remoteOrg = pkg.organization as Record<string, unknown> | undefined;
    const local = await ctx.catalog.findGroup(pkg.owner_org, "organization") ??
      (typeof remoteOrg?.name === "string" ? await ctx.catalog.findGroup(remoteOrg.name, "organization") : undefined);
    if (local) ownerOrg = local.id;
    else if (config.remote_orgs === "create") {
      const remote = await fetchRemoteGroup(ctx.http, source, config, "organization_show", pkg.owner_org) ?? remoteOrg;
      if (remote && typeof remote.name === "string") {
        ownerOrg = (await ctx.catalog.createGroup(groupFields(remote), "organization")).id;
      }
    }
  }
  pkg.owner_org = ownerOrg;
  delete pkg.organization;

  // Extras: defaults with placeholders; existing ones kept unless override_extras.
  let extras = Array.isArray(pkg.extras) ? pkg.extras as { key: string; value: unknown }[] : [];
  const vars = {
    dataset_id: String(pkg.id ?? ""),
    harvest_source_id: source.id,
    harvest_source_url: source.url.replace(/^\/+|\/+$/g, ""),
    harvest_source_title: source.title,
    harvest_job_id: object.harvest_job_id,
    harvest_object_id: object.id,
  };
  for (const [key, raw] of Object.entries(config.default_extras ?? {})) {
    const exists = extras.some((e) => e.key === key);
    if (exists && !config.override_extras) continue;
    if (exists) extras = extras.filter((e) => e.key !== key);
    extras.push({ key, value: typeof raw === "string" ? formatExtra(raw, vars) : raw });
  }
  pkg.extras = extras;

  // Resources become plain links to the remote copies.
  if (Array.isArray(pkg.resources)) {
    pkg.resources = (pkg.resources as Record<string, unknown>[]).map(({ url_type: _u, revision_id: _r, ...r }) => r);
  }

  if (modify) pkg = await modify(pkg, object, ctx);
  return await ctx.catalog.createOrUpdateDataset(pkg);
}

function groupFields(remote: Record<string, unknown>) {
  const str = (v: unknown) => typeof v === "string" ? v : undefined;
  return {
    id: str(remote.id),
    name: String(remote.name),
    title: str(remote.title),
    description: str(remote.description),
    image_url: str(remote.image_url),
  };
}

/** Options of `ckanHarvester()` for harvesters that extend it. */
export interface CkanHarvesterOptions {
  modifyPackageDict?: ModifyPackageDict;
  name?: string;
  title?: string;
  description?: string;
}

/** Creates the CKAN harvester; pass `modifyPackageDict` to extend it. */
export function ckanHarvester(options: CkanHarvesterOptions = {}): Harvester {
  return {
    info: () => ({
      name: options.name ?? "ckan",
      title: options.title ?? "CKAN",
      description: options.description ?? "Harvests remote CKAN instances",
      form_config_interface: "Text",
    }),
    async validateConfig(text: string, ctx: ValidateContext): Promise<string> {
      const config = parseCkanConfig(text);
      for (const group of config.default_groups ?? []) {
        if (!await ctx.groupExists(group)) throw ValidationError.of("config", `Default group not found: ${group}`);
      }
      if (config.user && !await ctx.userExists(config.user)) {
        throw ValidationError.of("config", `User not found: ${config.user}`);
      }
      return text;
    },
    async checkUrl(url: string, http: HttpClient, config = ""): Promise<void> {
      let parsed: CkanConfig | undefined;
      try {
        parsed = parseCkanConfig(config);
      } catch { /* validateConfig reports it */ }
      await callRemoteAction(http, url, "package_search", { rows: "0" }, { headers: parsed ? headers(parsed) : {} });
    },
    secretConfigKeys: () => ["api_key"],
    getOriginalUrl: (object, source) => `${baseUrl(source.url)}/dataset/${encodeURIComponent(object.guid)}`,
    gather,
    async fetch(ctx) {
      if (ctx.object.content !== null) return true;
      // Listed as unchanged but missing locally: get the whole dataset.
      const config = parseCkanConfig(ctx.source.config);
      const pkg = await callRemoteAction(ctx.http, ctx.source.url, "package_show", { id: ctx.object.guid }, {
        headers: headers(config),
        signal: ctx.signal,
      });
      ctx.setContent(JSON.stringify(pkg));
      return true;
    },
    import: (ctx) => importObject(ctx, options.modifyPackageDict),
  };
}
