/**
 * `harvest_source_datasets`: the datasets a source harvested, paged and searchable, each with its
 * current harvest object and, when the harvester can say, the record's address on the remote: what
 * the source page lists.
 *
 * @module
 */
import { z } from "zod";
import { searchPackages } from "../catalog/mod.ts";
import { memberOrgIds } from "../auth/users.ts";
import { guidsOf } from "../harvest/reports.ts";
import { sourceInfo } from "../harvest/stage.ts";
import { READERS } from "./access.ts";
import { defineAction, zId, zInt } from "./registry.ts";
import { readableSource } from "./sources.ts";

export const harvestSourceDatasets = defineAction({
  name: "harvest_source_datasets",
  access: READERS,
  doc: "The active datasets a source harvested, newest change first (or by relevance with q), page by page (rows, " +
    "default 20, and page from 1). q searches as package_search's q does. Returns {count, page, rows, results: [{id, " +
    "name, title, metadata_modified, harvest_object_id, guid, original_url (when the harvester gives one)}]}. Private " +
    "datasets are listed only for their organization's members.",
  auth: "whoever may see the source",
  sideEffectFree: true,
  input: z.object({
    id: zId,
    q: z.string().max(500).optional(),
    page: zInt(1, 100_000).optional(),
    rows: zInt(1, 100).optional(),
  }),
  async run(ctx, input) {
    const { sql, harvesters } = ctx.services;
    const source = await readableSource(ctx, input.id);
    const rows = input.rows ?? 20;
    const page = input.page ?? 1;
    const q = input.q?.trim();
    const found = await searchPackages(sql, {
      q: q || undefined,
      fq: `harvest_source_id:"${source.id}"`,
      rows,
      start: (page - 1) * rows,
      sort: q ? undefined : "metadata_modified desc",
      include_private: true,
    }, { sysadmin: ctx.actor.sysadmin, orgIds: await memberOrgIds(sql, ctx.actor) });
    const results = found.results as Record<string, unknown>[];
    const objectIds = results.map((d) => d.harvest_object_id).filter((x): x is string => typeof x === "string");
    const guids = new Map((await guidsOf(sql, objectIds)).map((o) => [o.id, o.guid]));
    const harvester = harvesters.get(source.type);
    const info = sourceInfo(source);
    return {
      count: found.count,
      page,
      rows,
      results: results.map((d) => {
        const objectId = typeof d.harvest_object_id === "string" ? d.harvest_object_id : null;
        const guid = objectId ? guids.get(objectId) ?? null : null;
        let original: string | undefined;
        if (objectId && guid) {
          try {
            original = harvester?.getOriginalUrl?.({
              id: objectId,
              guid,
              content: null,
              extras: {},
              harvest_job_id: "",
              harvest_source_id: source.id,
              package_id: String(d.id),
            }, info);
          } catch { /* a harvester's bug must not hide the list */ }
        }
        return {
          id: String(d.id),
          name: String(d.name),
          title: String(d.title ?? ""),
          metadata_modified: typeof d.metadata_modified === "string" ? d.metadata_modified : null,
          harvest_object_id: objectId,
          guid,
          ...(original ? { original_url: original } : {}),
        };
      }),
    };
  },
});
