import { z } from "zod";
import { listPackages, searchPackages, showPackage } from "../catalog/mod.ts";
import { ValidationError } from "../errors/mod.ts";
import { memberOrgIds } from "./auth.ts";
import { type ActionContext, defineAction, zBool, zId, zInt } from "./registry.ts";

async function viewer(ctx: ActionContext) {
  return { sysadmin: ctx.actor.sysadmin, orgIds: await memberOrgIds(ctx.services.sql, ctx.actor) };
}

export const packageShow = defineAction({
  name: "package_show",
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
  doc: "Searches datasets: q (text or field:value), fq (field:value, -negation, OR, ranges), rows (max 1000), " +
    "start, sort, facet.field, include_private.",
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
    }, await viewer(ctx));
  },
});

export const statusShow = defineAction({
  name: "status_show",
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
  doc: "Each registered harvester's info: name, title, description, form_config_interface, show_config.",
  auth: "anyone",
  sideEffectFree: true,
  input: z.object({}),
  run(ctx) {
    return Promise.resolve(ctx.services.harvesters.infos());
  },
});

export const catalogActions = [packageShow, packageList, packageSearch, statusShow, harvestersInfoShow];
