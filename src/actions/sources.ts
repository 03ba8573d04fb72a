import { ANYONE, EDITORS, READERS } from "./access.ts";
import { z } from "zod";
import { jsonDepth, MAX_JSON_DEPTH } from "../errors/json_depth.ts";
import { stalledWork } from "../harvest/stalled.ts";
import type { Queryable } from "../db/mod.ts";
import { AuthorizationError, messageOf, NotFoundError, ValidationError } from "../errors/mod.ts";
import { NAME_PATTERN } from "../catalog/mod.ts";
import { FREQUENCIES } from "../harvest/dicts.ts";
import {
  deactivateSource,
  duplicateSource,
  getSource,
  insertSource,
  listSources,
  type SourceBrief,
  sourceBriefs as briefRows,
  sourceDict,
  sourceIdByUrl,
  sourceNameTaken,
  type SourceRow,
  sourceStatusCounts,
  type SourceVisibility,
  type SourceWrite,
  updateSource,
} from "../harvest/sources.ts";
import { organizationBrief } from "../catalog/groups.ts";
import { cancelNewJobs, errorCounts, getJob, jobDicts } from "../harvest/jobs.ts";
import { findGroup } from "../catalog/groups.ts";
import { userExists, writableGroups } from "../auth/users.ts";
import { clearSource, refuseWhileRunning } from "../harvest/source_history.ts";
import { canEditSource, canReadSource, capacityIn, memberOrgIds } from "../auth/users.ts";
import { type ActionContext, defineAction, zBool, zId, zInt } from "./registry.ts";

const configField = z.union([z.string(), z.record(z.string(), z.unknown()).transform((o) => JSON.stringify(o))])
  .refine((v) => jsonDepth(v) <= MAX_JSON_DEPTH, `Must not nest deeper than ${MAX_JSON_DEPTH} levels`)
  .optional();

/** The `status` block of a source: job count, newest job with stats and summaries, current datasets. */
export async function sourceStatus(sql: Queryable, sourceId: string): Promise<Record<string, unknown>> {
  const counts = await sourceStatusCounts(sql, sourceId);
  const last = counts.last_job_id
    ? (await jobDicts(sql, [await getJob(sql, counts.last_job_id)], { summaries: true }))[0]!
    : null;
  const status: Record<string, unknown> = {
    job_count: counts.job_count,
    last_job: last,
    total_datasets: counts.total_datasets,
  };
  if (last && (last.status === "New" || last.status === "Running")) {
    const warning = await stalledWork(sql, sourceId);
    if (warning) status.workers_warning = warning;
  }
  return status;
}

/** The full source dict as the actor may see it. */
export async function showSourceAs(ctx: ActionContext, source: SourceRow): Promise<Record<string, unknown>> {
  const { sql } = ctx.services;
  return sourceDict(source, {
    organization: await organizationBrief(sql, source.owner_org),
    status: await sourceStatus(sql, source.id),
    withConfig: await canEditSource(sql, ctx.actor, source),
  });
}

/** Finds a source the actor may read; others are reported as not found, so private ones stay hidden. */
export async function readableSource(ctx: ActionContext, idOrName: string): Promise<SourceRow> {
  const source = await getSource(ctx.services.sql, idOrName);
  if (!await canReadSource(ctx.services.sql, ctx.actor, source)) {
    throw new NotFoundError(`Harvest source not found: ${idOrName}`);
  }
  return source;
}

async function resolveOrg(sql: Queryable, idOrName: string): Promise<string> {
  const org = await findGroup(sql, idOrName, { kind: "organization" });
  if (!org) throw ValidationError.of("owner_org", `Organization does not exist: ${idOrName}`);
  return org.id;
}

const sourceFields = {
  url: z.string({ error: "Missing value" }).trim().min(1, "Missing value"),
  name: z.string({ error: "Missing value" }).trim().min(1, "Missing value"),
  source_type: z.string({ error: "Missing value" }).trim().min(1, "Missing value"),
  title: z.string().optional(),
  notes: z.string().optional(),
  frequency: z.string().optional(),
  config: configField,
  owner_org: z.string().nullish(),
  private: zBool.optional(),
  state: z.enum(["active", "deleted"]).optional(),
  check_url: zBool.optional().describe("Check that the URL answers like the harvester's catalog (default true)"),
};

/**
 * Validates a source's fields against the harvester, the organization, and the other sources.
 * Collects every problem so the operator can fix them in one go.
 */
async function validateSource(
  ctx: ActionContext,
  input: z.output<z.ZodObject<typeof sourceFields>>,
  existing?: SourceRow,
): Promise<{ frequency: string; config: string; ownerOrg: string | null; url: string }> {
  const { sql, harvesters } = ctx.services;
  const errors: Record<string, string[]> = {};
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);

  if (!NAME_PATTERN.test(input.name)) {
    add("name", "Must be 2-100 characters of lowercase letters (a-z), digits and these symbols: -_");
  } else {
    if (await sourceNameTaken(sql, input.name, existing?.id)) add("name", `That name is already in use: ${input.name}`);
  }
  let url = input.url;
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
  } catch {
    add("url", `Not a valid http(s) URL: ${url}`);
    url = "";
  }
  if (url) {
    try {
      await ctx.services.http.checkUrl(url);
    } catch (error) {
      add("url", messageOf(error));
      url = "";
    }
  }
  const harvester = harvesters.get(input.source_type);
  if (!harvester) {
    add(
      "source_type",
      `Unknown harvester type: ${input.source_type}. Registered types: [${harvesters.names().join(", ")}]`,
    );
  }
  const frequency = (input.frequency ?? "").trim().toUpperCase() || "MANUAL";
  if (!(FREQUENCIES as readonly string[]).includes(frequency)) {
    add("frequency", `Frequency ${input.frequency} not recognised; allowed: ${FREQUENCIES.join(", ")}`);
  }
  let ownerOrg: string | null = null;
  if (input.owner_org) {
    try {
      ownerOrg = await resolveOrg(sql, input.owner_org);
    } catch (error) {
      add("owner_org", (error as ValidationError).fields.owner_org![0]!);
    }
  }
  let config = input.config ?? "";
  if (harvester?.validateConfig) {
    try {
      config = await harvester.validateConfig(config, {
        groupExists: async (g) => (await findGroup(sql, g, { kind: "group", active: false })) !== undefined,
        userExists: (u) => userExists(sql, u),
      });
    } catch (error) {
      const message = error instanceof ValidationError
        ? Object.values(error.fields).flat().join("; ")
        : messageOf(error);
      add("config", `Error parsing the configuration options: ${message}`);
    }
  }
  for (const problem of await placementProblems(ctx, config, ownerOrg, config !== existing?.config)) {
    add("config", problem);
  }
  if (url) {
    const dup = await duplicateSource(sql, url, config, existing?.id);
    if (dup) {
      add(
        "url",
        `There already is a Harvest Source for this URL (& config): url=${url} config=${config} (source ${dup})`,
      );
    }
  }
  if (
    Object.keys(errors).length === 0 && harvester?.checkUrl && input.check_url !== false &&
    url !== existing?.url
  ) {
    try {
      await harvester.checkUrl(url, ctx.services.http, config);
    } catch (error) {
      add("url", `Cannot use ${url} as a ${harvester.info().title} source: ${messageOf(error)}`);
    }
  }
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
  return { frequency, config, ownerOrg, url };
}

/** The config keys with which a harvester places datasets outside the source's organization. */
export const PLACEMENT_KEYS = ["remote_orgs", "remote_groups"] as const;

/**
 * Why a config would let a harvest write where the source's editors may not. A source that belongs to
 * an organization writes only into it: `remote_orgs` and `remote_groups` (which map remote datasets to
 * other organizations and groups, or create them) are for sources without an organization, which only
 * sysadmins manage; its `default_groups` must be groups the one saving the config may add datasets to.
 * The import checks the same again (`TxImportCatalog`), whatever a harvester does.
 */
async function placementProblems(
  ctx: ActionContext,
  config: string,
  ownerOrg: string | null,
  configChanged: boolean,
): Promise<string[]> {
  let parsed: Record<string, unknown>;
  try {
    const value = JSON.parse(config || "{}");
    if (!value || typeof value !== "object" || Array.isArray(value)) return [];
    parsed = value;
  } catch {
    return []; // the harvester's own validation reports it
  }
  const problems: string[] = [];
  for (const key of ["max_pages", "max_records", "max_record_mb"]) {
    const value = parsed[key];
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value) || value <= 0)) {
      problems.push(`${key} must be a positive number, not ${JSON.stringify(value)}`);
    }
  }
  const cap = parsed.concurrency;
  if (cap !== undefined && (typeof cap !== "number" || !Number.isInteger(cap) || cap < 1 || cap > 100_000)) {
    problems.push(`concurrency must be a whole number of objects from 1 to 100000, not ${JSON.stringify(cap)}`);
  }
  if (ownerOrg) {
    for (const key of PLACEMENT_KEYS) {
      const value = parsed[key];
      if (value !== undefined && value !== null && value !== "" && value !== false) {
        problems.push(
          `${key} ${JSON.stringify(value)} would place datasets outside the source's organization: only sources ` +
            `without an organization (which only sysadmins manage) may use it`,
        );
      }
    }
  }
  const groups = Array.isArray(parsed.default_groups) ? parsed.default_groups.filter((g) => typeof g === "string") : [];
  if (groups.length && configChanged && !ctx.actor.sysadmin) {
    const writable = await writableGroups(ctx.services.sql, ctx.actor);
    for (const g of groups) {
      if (!writable.some((w) => w.id === g || w.name === g)) {
        problems.push(`default_groups: you may not add datasets to the group ${g} (editors and admins of it may)`);
      }
    }
  }
  return problems;
}

async function requireCreateIn(ctx: ActionContext, ownerOrg: string | null): Promise<void> {
  if (ctx.actor.sysadmin) return;
  const capacity = await capacityIn(ctx.services.sql, ctx.actor, ownerOrg);
  if (capacity !== "admin" && capacity !== "editor") {
    throw new AuthorizationError(
      ownerOrg
        ? `User ${ctx.actor.name || "(anonymous)"} not authorized to create harvest sources in this organization`
        : `User ${ctx.actor.name || "(anonymous)"} not authorized to create harvest sources without an organization`,
    );
  }
}

/** The row a validated create or update writes; `defaults` fill what the input leaves out. */
function sourceWrite(
  input: z.output<z.ZodObject<typeof sourceFields>>,
  v: { url: string; config: string; frequency: string; ownerOrg: string | null },
  defaults: { private: boolean; state: string },
): SourceWrite {
  return {
    name: input.name,
    title: input.title?.trim() || input.name,
    notes: input.notes ?? "",
    url: v.url,
    type: input.source_type,
    config: v.config,
    frequency: v.frequency,
    owner_org: v.ownerOrg,
    private: input.private ?? defaults.private,
    state: input.state ?? defaults.state,
  };
}

export const harvestSourceCreate = defineAction({
  name: "harvest_source_create",
  access: EDITORS,
  doc: "Creates a harvest source. Returns the source dict.",
  auth: "editor or admin of owner_org; sysadmin for sources without an organization",
  sideEffectFree: false,
  input: z.object(sourceFields),
  async run(ctx, input) {
    const { sql } = ctx.services;
    if (input.owner_org) {
      const org = await findGroup(sql, input.owner_org, { kind: "organization", active: false });
      await requireCreateIn(ctx, org?.id ?? null);
    } else await requireCreateIn(ctx, null);
    const v = await validateSource(ctx, input);
    const id = await insertSource(sql, sourceWrite(input, v, { private: false, state: "active" }), ctx.actor.id);
    return await showSourceAs(ctx, await getSource(sql, id));
  },
});

export const harvestSourceShow = defineAction({
  name: "harvest_source_show",
  access: READERS,
  doc: "Shows a source by id or name, or by exact url. The config is shown only to those who may edit it.",
  auth: "anyone for public sources; organization members for private ones; config only for editors",
  sideEffectFree: true,
  input: z.object({ id: z.string().optional(), url: z.string().optional() }).refine((v) => v.id || v.url, {
    message: "Please provide either an id or a url",
    path: ["id"],
  }),
  async run(ctx, input) {
    let idOrName = input.id;
    if (!idOrName) {
      idOrName = await sourceIdByUrl(ctx.services.sql, input.url!);
      if (!idOrName) throw new NotFoundError(`Harvest source not found for url ${input.url}`);
    }
    return await showSourceAs(ctx, await readableSource(ctx, idOrName));
  },
});

export const harvestSourceList = defineAction({
  name: "harvest_source_list",
  access: ANYONE,
  doc: "Lists the sources the caller may see, newest first, a page at a time.",
  auth: "anyone; private and deleted sources only for their organization's members",
  sideEffectFree: true,
  input: z.object({
    organization_id: z.string().optional(),
    only_active: zBool.optional(),
    only_to_run: zBool.optional(),
    return_last_job_status: zBool.optional(),
    limit: zInt(1).optional(),
    offset: zInt(0).optional(),
  }),
  async run(ctx, input) {
    const { sql, config } = ctx.services;
    const cap = config.values["ckan.harvest.harvest_source_limit"];
    const limit = Math.min(input.limit ?? cap, cap);
    const orgs = await memberOrgIds(sql, ctx.actor);
    const rows = await listSources(sql, { all: ctx.actor.sysadmin, orgIds: orgs }, {
      organization: input.organization_id ?? null,
      onlyActive: input.only_active ?? false,
      onlyToRun: input.only_to_run ?? false,
      limit,
      offset: input.offset ?? 0,
    });
    const out = [];
    for (const s of rows) out.push(await showSourceAs(ctx, s));
    return out;
  },
});

export type { SourceBrief };

/** Who sees which sources: sysadmins all, others the public active ones and their organizations'. */
async function visibility(ctx: ActionContext): Promise<SourceVisibility> {
  return { all: ctx.actor.sysadmin, orgIds: await memberOrgIds(ctx.services.sql, ctx.actor) };
}

/**
 * Every active source the actor may see, briefly, in two statements whatever their number (the
 * full dicts cost several statements each): for lists that search, facet and sort them all and then
 * show one page. Newest first, as `harvest_source_list`.
 */
export async function sourceBriefs(ctx: ActionContext): Promise<SourceBrief[]> {
  const { sql } = ctx.services;
  const rows = await briefRows(sql, await visibility(ctx));
  const errored = await errorCounts(sql, rows.flatMap((r) => r.job_id ? [r.job_id] : []));
  return rows.map(({ job_id, job_status, job_created, ...brief }) => ({
    ...brief,
    last_job: job_id ? { status: job_status, created: job_created, errored: errored.get(job_id) ?? 0 } : null,
  }));
}

export async function editableSource(ctx: ActionContext, idOrName: string, what: string): Promise<SourceRow> {
  const source = await readableSource(ctx, idOrName);
  if (!await canEditSource(ctx.services.sql, ctx.actor, source)) {
    throw new AuthorizationError(
      `User ${ctx.actor.name || "(anonymous)"} not authorized to ${what} of harvest source ${source.name}`,
    );
  }
  return source;
}

/** Applies validated fields to a source; when it becomes inactive its New jobs are Aborted. */
async function writeSource(
  ctx: ActionContext,
  existing: SourceRow,
  input: z.output<z.ZodObject<typeof sourceFields>>,
): Promise<Record<string, unknown>> {
  const { sql } = ctx.services;
  if (input.owner_org !== undefined && input.owner_org !== existing.owner_org) {
    const org = input.owner_org
      ? await findGroup(sql, input.owner_org, { kind: "organization", active: false })
      : undefined;
    await requireCreateIn(ctx, org?.id ?? null);
  }
  const v = await validateSource(ctx, input, existing);
  const state = input.state ?? existing.state;
  const write = sourceWrite(input, v, existing);
  await sql.begin(async (tx) => {
    await updateSource(tx, existing.id, write);
    if (state !== "active") await cancelNewJobs(tx, existing.id);
  });
  return await showSourceAs(ctx, await getSource(sql, existing.id));
}

export const harvestSourceUpdate = defineAction({
  name: "harvest_source_update",
  access: EDITORS,
  doc: "Replaces a source's fields (url, name and source_type are required, as on create). A source made " +
    "inactive (state deleted) has its New jobs Aborted; Running jobs go on.",
  auth: "editor or admin of the source's organization (and of a new owner_org)",
  sideEffectFree: false,
  input: z.object({ id: zId, ...sourceFields }),
  async run(ctx, input) {
    const existing = await editableSource(ctx, input.id, "update");
    return await writeSource(ctx, existing, input);
  },
});

export const harvestSourcePatch = defineAction({
  name: "harvest_source_patch",
  access: EDITORS,
  doc: "Changes only the given fields of a source; otherwise as harvest_source_update.",
  auth: "editor or admin of the source's organization (and of a new owner_org)",
  sideEffectFree: false,
  input: z.object({ id: zId }).extend(
    Object.fromEntries(Object.entries(sourceFields).map(([k, v]) => [k, (v as z.ZodType).optional()])) as {
      [K in keyof typeof sourceFields]: z.ZodOptional<(typeof sourceFields)[K]>;
    },
  ),
  async run(ctx, input) {
    const existing = await editableSource(ctx, input.id, "update");
    return await writeSource(ctx, existing, {
      url: input.url ?? existing.url,
      name: input.name ?? existing.name,
      source_type: input.source_type ?? existing.type,
      title: input.title ?? existing.title,
      notes: input.notes ?? existing.notes,
      frequency: input.frequency ?? existing.frequency,
      config: input.config ?? existing.config,
      owner_org: input.owner_org === undefined ? existing.owner_org : input.owner_org,
      private: input.private ?? existing.private,
      state: input.state ?? existing.state,
      check_url: input.check_url,
    });
  },
});

export const harvestSourceDelete = defineAction({
  name: "harvest_source_delete",
  access: EDITORS,
  doc: "Deactivates a source (state deleted): its New jobs are Aborted; datasets, jobs and objects are kept " +
    "unless clear=true. " +
    "It can be re-activated with harvest_source_patch state=active.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: false,
  input: z.object({
    id: zId,
    clear: zBool.optional().describe("Also run harvest_source_clear: purge its datasets, jobs and objects"),
  }),
  async run(ctx, input) {
    const existing = await editableSource(ctx, input.id, "delete");
    const { sql } = ctx.services;
    if (input.clear) await refuseWhileRunning(sql, existing.id, "clearing it");
    await sql.begin(async (tx) => {
      await deactivateSource(tx, existing.id);
      await cancelNewJobs(tx, existing.id);
    });
    if (input.clear) await clearSource(ctx.services, existing.id);
    return { id: existing.id };
  },
});

export const sourceActions = [
  harvestSourceCreate,
  harvestSourceShow,
  harvestSourceList,
  harvestSourceUpdate,
  harvestSourcePatch,
  harvestSourceDelete,
];
