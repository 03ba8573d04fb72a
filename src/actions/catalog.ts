import { ANYONE, EDITORS, READERS } from "./access.ts";
import { z } from "zod";
import {
  findPackage,
  listPackages,
  markPackagesDeleted,
  NAME_PATTERN,
  nameTaken,
  packageIdTaken,
  PackageInputError,
  type PackageParsed,
  readPackageInput,
  readPackages,
  searchPackages,
  showPackage,
  tagNames,
  writePackage,
} from "../catalog/mod.ts";
import { findGroup, groupDict, listGroups } from "../catalog/groups.ts";
import { AuthorizationError, NotFoundError, ValidationError } from "../errors/mod.ts";
import { capacityIn, memberOrgIds } from "../auth/users.ts";
import { type ActionContext, defineAction, zBool, zId, zInt } from "./registry.ts";
import { orgByIdOrName } from "./users.ts";

async function viewer(ctx: ActionContext) {
  return { sysadmin: ctx.actor.sysadmin, orgIds: await memberOrgIds(ctx.services.sql, ctx.actor) };
}

export const packageShow = defineAction({
  name: "package_show",
  access: READERS,
  doc: "Shows a dataset by id or name, with the harvest fields when it was harvested.",
  auth: "anyone for public datasets; organization members for private ones",
  sideEffectFree: true,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    return await showPackage(ctx.services.sql, input.id, await viewer(ctx));
  },
});

export const packageList = defineAction({
  name: "package_list",
  access: ANYONE,
  doc: "Names of the active public datasets.",
  auth: "anyone",
  sideEffectFree: true,
  input: z.object({ limit: zInt(1).optional(), offset: zInt(0).optional() }),
  async run(ctx, input) {
    return await listPackages(ctx.services.sql, input.limit, input.offset ?? 0);
  },
});

const facetFields = z.union([z.array(z.string()), z.string()]).optional().transform((v, c) => {
  if (v === undefined || Array.isArray(v)) return v;
  try {
    const parsed = JSON.parse(v);
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parsed as string[];
  } catch { /* reported below */ }
  c.addIssue({ code: "custom", message: 'Must be a JSON list of field names, e.g. ["organization", "tags"]' });
  return z.NEVER;
});

export const packageSearch = defineAction({
  name: "package_search",
  access: ANYONE,
  doc: "Searches datasets: q (text or field:value), fq (field:value, -negation, OR, ranges), rows (max 1000), " +
    "start, sort, facet.field, include_private, and ckanext-spatial's ext_bbox (minx,miny,maxx,maxy: datasets " +
    "whose extent, from their `spatial` GeoJSON extra, intersects the box).",
  auth: "anyone; private datasets only with include_private for their organization's members",
  sideEffectFree: true,
  input: z.object({
    q: z.string().optional(),
    fq: z.string().optional(),
    rows: zInt(0, 1000).optional(),
    start: zInt(0).optional(),
    sort: z.string().optional(),
    include_private: zBool.optional(),
    include_drafts: zBool.optional(),
    "facet.field": facetFields,
    "facet.limit": zInt(-1, 1000).optional(),
    fl: z.string().optional(),
    ext_bbox: z.string().optional().describe("minx,miny,maxx,maxy: datasets whose extent intersects this box"),
  }),
  async run(ctx, input) {
    if (input.rows !== undefined && input.rows > 1000) throw ValidationError.of("rows", "Must be at most 1000");
    return await searchPackages(ctx.services.sql, {
      q: input.q,
      fq: input.fq,
      rows: input.rows,
      start: input.start,
      sort: input.sort,
      include_private: input.include_private,
      include_drafts: input.include_drafts,
      facet_fields: input["facet.field"],
      facet_limit: input["facet.limit"] === -1 ? 1000 : input["facet.limit"],
      fl: input.fl,
      ext_bbox: input.ext_bbox,
    }, await viewer(ctx));
  },
});

export const statusShow = defineAction({
  name: "status_show",
  access: ANYONE,
  doc: "The site's name, URL and API version, as CKAN's status_show.",
  auth: "anyone",
  sideEffectFree: true,
  input: z.object({}),
  run(ctx) {
    const v = ctx.services.config.values;
    return Promise.resolve({
      site_title: v["ckan.site_title"],
      site_url: v["ckan.site_url"],
      ckan_version: "2.10.0",
      site_description: "ckan-harvest-ts",
      extensions: ["harvest", "ckan_harvester"],
    });
  },
});

export const harvestersInfoShow = defineAction({
  name: "harvesters_info_show",
  access: ANYONE,
  doc: "Each registered harvester's info: name, title, description, form_config_interface, show_config.",
  auth: "anyone",
  sideEffectFree: true,
  input: z.object({}),
  run(ctx) {
    return Promise.resolve(ctx.services.harvesters.infos());
  },
});

export const catalogActions = [packageShow, packageList, packageSearch, statusShow, harvestersInfoShow];

const packageWriteInput = z.looseObject({
  id: z.string().optional(),
  name: z.string().optional(),
  owner_org: z.string().nullish(),
});

async function requireOrgEditor(ctx: ActionContext, orgId: string | null, what: string) {
  if (ctx.actor.sysadmin) return;
  const capacity = await capacityIn(ctx.services.sql, ctx.actor, orgId);
  if (capacity !== "admin" && capacity !== "editor") {
    throw new AuthorizationError(`User ${ctx.actor.name || "(anonymous)"} not authorized to ${what}`);
  }
}

async function resolvePackageRefs(ctx: ActionContext, pkg: PackageParsed) {
  const { sql } = ctx.services;
  const errors: Record<string, string[]> = {};
  let ownerOrg: string | null = null;
  if (pkg.owner_org) {
    const org = await findGroup(sql, pkg.owner_org, { kind: "organization" });
    if (org) ownerOrg = org.id;
    else errors.owner_org = [`Organization does not exist: ${pkg.owner_org}`];
  }
  const groupIds: string[] = [];
  for (const g of pkg.groups ?? []) {
    const key = g.id ?? g.name ?? "";
    const found = await findGroup(sql, key, { kind: "group" });
    if (found) groupIds.push(found.id);
    else (errors.groups ??= []).push(`Group not found: ${key}`);
  }
  for (const [i, r] of (pkg.resources ?? []).entries()) {
    if (r.url !== null && r.url !== undefined && r.url.length > 0) {
      try {
        new URL(r.url);
      } catch {
        (errors[`resources.${i}.url`] ??= []).push(`Not a valid URL: ${r.url}`);
      }
    }
  }
  return { ownerOrg, groupIds, errors };
}

function parsePackage(input: unknown): PackageParsed {
  try {
    return readPackageInput(input);
  } catch (error) {
    if (!(error instanceof PackageInputError)) throw error;
    const fields: Record<string, string[]> = {};
    for (const [field, problem] of error.issues) (fields[field || "input"] ??= []).push(problem);
    throw new ValidationError(fields);
  }
}

async function savePackage(
  ctx: ActionContext,
  pkg: PackageParsed,
  existing: { id: string; name: string; owner_org: string | null } | undefined,
) {
  const { sql } = ctx.services;
  const name = pkg.name ?? existing?.name;
  const errors: Record<string, string[]> = {};
  if (!name) errors.name = ["Missing value"];
  else if (!NAME_PATTERN.test(name)) {
    errors.name = ["Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"];
  } else {
    if (await nameTaken(sql, name, existing?.id)) errors.name = ["That URL is already in use."];
  }
  const refs = await resolvePackageRefs(ctx, pkg);
  Object.assign(errors, refs.errors);
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
  await requireOrgEditor(ctx, refs.ownerOrg, existing ? "update this dataset" : "create datasets in this organization");
  if (existing && existing.owner_org !== refs.ownerOrg) {
    await requireOrgEditor(ctx, existing.owner_org, "move this dataset");
  }
  let id = existing?.id ?? pkg.id ?? crypto.randomUUID();
  if (!existing && pkg.id && await packageIdTaken(sql, pkg.id)) {
    throw ValidationError.of("id", `Dataset id already exists: ${pkg.id}`);
  }
  const written = await sql.begin((tx) =>
    writePackage(tx, { id, name: name!, pkg, ownerOrg: refs.ownerOrg, groupIds: refs.groupIds, create: !existing })
  );
  if (!written) throw ValidationError.of("name", "That URL is already in use.");
  id = id as string;
  return (await readPackages(sql, [id]))[0];
}

async function packageForEdit(ctx: ActionContext, idOrName: string) {
  const row = await findPackage(ctx.services.sql, idOrName);
  if (!row) throw new NotFoundError(`Dataset not found: ${idOrName}`);
  return row;
}

export const packageCreate = defineAction({
  name: "package_create",
  access: EDITORS,
  doc: "Creates a dataset in CKAN's package shape (name required; tags, groups, extras, resources).",
  auth: "editor or admin of owner_org; sysadmin for datasets without an organization",
  sideEffectFree: false,
  input: packageWriteInput,
  run: (ctx, input) => savePackage(ctx, parsePackage(input), undefined),
});

export const packageUpdate = defineAction({
  name: "package_update",
  access: EDITORS,
  doc: "Replaces a dataset (by id or name) with the given dict.",
  auth: "editor or admin of the dataset's organization (and of a new owner_org)",
  sideEffectFree: false,
  input: packageWriteInput.extend({ id: zId }),
  async run(ctx, input) {
    const existing = await packageForEdit(ctx, input.id);
    await requireOrgEditor(ctx, existing.owner_org, "update this dataset");
    return await savePackage(ctx, parsePackage({ ...input, id: existing.id }), existing);
  },
});

export const packagePatch = defineAction({
  name: "package_patch",
  access: EDITORS,
  doc: "Changes only the given fields of a dataset.",
  auth: "editor or admin of the dataset's organization (and of a new owner_org)",
  sideEffectFree: false,
  input: packageWriteInput.extend({ id: zId }),
  async run(ctx, input) {
    const existing = await packageForEdit(ctx, input.id);
    await requireOrgEditor(ctx, existing.owner_org, "update this dataset");
    const [current] = await readPackages(ctx.services.sql, [existing.id]);
    const merged = { ...current, ...input, id: existing.id };
    if (!("owner_org" in input)) merged.owner_org = existing.owner_org;
    return await savePackage(ctx, parsePackage(merged), existing);
  },
});

export const packageDelete = defineAction({
  name: "package_delete",
  access: EDITORS,
  doc: "Deletes a dataset (state deleted; it stays in the database and keeps its name).",
  auth: "editor or admin of the dataset's organization",
  sideEffectFree: false,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const existing = await packageForEdit(ctx, input.id);
    await requireOrgEditor(ctx, existing.owner_org, "delete this dataset");
    await markPackagesDeleted(ctx.services.sql, [existing.id]);
    return null;
  },
});

function groupListAction(kind: "organization" | "group") {
  return defineAction({
    name: `${kind}_list`,
    access: ANYONE,
    doc: `Names of ${kind}s (or dicts with all_fields=true), sorted by name.`,
    auth: "anyone",
    sideEffectFree: true,
    input: z.object({ all_fields: zBool.optional(), limit: zInt(1, 1000).optional(), offset: zInt(0).optional() }),
    async run(ctx, input) {
      const rows = await listGroups(ctx.services.sql, kind, input.limit ?? 1000, input.offset ?? 0);
      if (!input.all_fields) return rows.map((r) => r.name);
      return await Promise.all(rows.map((r) => groupDict(ctx.services.sql, r.id, kind)));
    },
  });
}

function groupShowAction(kind: "organization" | "group") {
  return defineAction({
    name: `${kind}_show`,
    access: ANYONE,
    doc: `Shows ${kind === "organization" ? "an organization" : "a group"} by id or name, with include_datasets ` +
      "for its first 1000 public datasets.",
    auth: "anyone",
    sideEffectFree: true,
    input: z.object({ id: zId, include_datasets: zBool.optional() }),
    async run(ctx, input) {
      const g = await orgByIdOrName(ctx, input.id, kind === "organization");
      const dict: Record<string, unknown> = await groupDict(ctx.services.sql, g.id, kind);
      if (input.include_datasets) {
        const fq = kind === "organization" ? `owner_org:${g.id}` : `groups:${g.name}`;
        dict.packages = (await searchPackages(ctx.services.sql, { fq, rows: 1000 }, await viewer(ctx))).results;
      }
      return dict;
    },
  });
}

export const tagList = defineAction({
  name: "tag_list",
  access: ANYONE,
  doc: "Names of the tags on active public datasets, optionally those starting with query.",
  auth: "anyone",
  sideEffectFree: true,
  input: z.object({ query: z.string().optional(), limit: zInt(1, 10000).optional(), offset: zInt(0).optional() }),
  async run(ctx, input) {
    return await tagNames(ctx.services.sql, input.query ?? "", input.limit ?? 1000, input.offset ?? 0);
  },
});

export const catalogWriteActions = [
  packageCreate,
  packageUpdate,
  packagePatch,
  packageDelete,
  groupListAction("organization"),
  groupListAction("group"),
  groupShowAction("organization"),
  groupShowAction("group"),
  tagList,
];
