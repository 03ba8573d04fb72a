/**
 * Harvest objects, job reports, the database log and notification recipients.
 *
 * @module
 */
import { EDITORS, READERS, SYSADMIN } from "./access.ts";
import { z } from "zod";
import { NotFoundError, ValidationError } from "../errors/mod.ts";
import type { Queryable } from "../db/mod.ts";
import { harvestTime } from "../harvest/dicts.ts";
import { getJob } from "../harvest/jobs.ts";
import {
  changeSummary,
  datasetHistory,
  gatherErrors,
  objectChanges,
  objectErrors,
  objectExtras,
  objectsWithErrors,
} from "../harvest/reports.ts";
import { getSource, sourceExists } from "../harvest/sources.ts";
import { sourceInfo } from "../harvest/stage.ts";
import { createObject, type ObjectRecord } from "../harvest/objects.ts";
import { currentObjectOf, getObjectRecord, listObjectIds, objectByGuid } from "../harvest/reports.ts";
import { findPackage, showPackage } from "../catalog/mod.ts";
import { listLog } from "../log/mod.ts";
import { notificationRecipients } from "../harvest/notify.ts";
import { canReadSource, memberOrgIds } from "../auth/users.ts";
import { type ActionContext, defineAction, zBool, zId, zInt } from "./registry.ts";
import { editableSource, readableSource } from "./sources.ts";

/** The original's object dict: every column, plus source, job, package, errors and extras. */
async function objectDict(sql: Queryable, o: ObjectRecord): Promise<Record<string, unknown>> {
  const errors = await objectErrors(sql, o.id);
  const extras = await objectExtras(sql, o.id);
  return {
    id: o.id,
    guid: o.guid,
    current: o.current,
    gathered: harvestTime(o.gathered),
    fetch_started: harvestTime(o.fetch_started),
    fetch_finished: harvestTime(o.fetch_finished),
    import_started: harvestTime(o.import_started),
    import_finished: harvestTime(o.import_finished),
    metadata_modified_date: harvestTime(o.metadata_modified_date),
    retry_times: o.retry_times,
    state: o.state,
    report_status: o.report_status,
    harvest_job_id: o.harvest_job_id,
    harvest_source_id: o.harvest_source_id,
    package_id: o.package_id,
    source: o.harvest_source_id,
    job: o.harvest_job_id,
    ...(o.package_id ? { package: o.package_id } : {}),
    content: o.content,
    changes: await objectChanges(sql, o.id),
    errors: errors.map((e) => ({ ...e, harvest_object_id: o.id, created: harvestTime(e.created) })),
    extras,
  };
}

/**
 * An object's raw content is the remote record: only those who may read its source see it, and
 * when its dataset is private, only members of the dataset's organization.
 */
async function requireObjectReadable(ctx: ActionContext, o: ObjectRecord): Promise<void> {
  const { sql } = ctx.services;
  const hidden = () => new NotFoundError(`Harvest object not found: ${o.id}`);
  const source = await getSource(sql, o.harvest_source_id);
  if (!await canReadSource(sql, ctx.actor, source)) throw hidden();
  if (o.package_id && !ctx.actor.sysadmin) {
    const pkg = await findPackage(sql, o.package_id);
    if (pkg?.private && !(await memberOrgIds(sql, ctx.actor)).includes(pkg.owner_org ?? "")) throw hidden();
  }
}

export const harvestObjectShow = defineAction({
  name: "harvest_object_show",
  access: READERS,
  doc: "Shows an object with its raw content, errors and extras: by id (or by another column with attr=guid: " +
    "the newest match), or by dataset_id (the dataset's current object).",
  auth: "whoever may read the source; for a private dataset, members of its organization",
  sideEffectFree: true,
  input: z.object({
    id: z.string().optional(),
    attr: z.enum(["id", "guid"]).optional(),
    dataset_id: z.string().optional(),
  }).refine((v) => v.id || v.dataset_id, {
    message: 'Please provide either an "id" or a "dataset_id" parameter',
    path: ["id"],
  }),
  async run(ctx, input) {
    const { sql } = ctx.services;
    let object: ObjectRecord | undefined;
    if (input.id) {
      object = input.attr === "guid" ? await objectByGuid(sql, input.id) : await getObjectRecord(sql, input.id);
    } else {
      const pkg = await findPackage(sql, input.dataset_id!);
      object = pkg ? await currentObjectOf(sql, pkg.id) : undefined;
    }
    if (!object) throw new NotFoundError(`Harvest object not found: ${input.id ?? input.dataset_id}`);
    await requireObjectReadable(ctx, object);
    return await objectDict(sql, object);
  },
});

export const harvestObjectList = defineAction({
  name: "harvest_object_list",
  access: READERS,
  doc: "Lists object ids of a source (only current ones unless only_current=false), a page at a time " +
    "(limit default 100, at most 1000).",
  auth: "whoever may read the source",
  sideEffectFree: true,
  input: z.object({
    source_id: zId,
    only_current: zBool.optional(),
    limit: zInt(1, 1000).optional(),
    offset: zInt(0).optional(),
  }),
  async run(ctx, input) {
    const source = await readableSource(ctx, input.source_id);
    return await listObjectIds(ctx.services.sql, source.id, {
      onlyCurrent: input.only_current ?? true,
      limit: input.limit ?? 100,
      offset: input.offset ?? 0,
    });
  },
});

export const harvestObjectCreate = defineAction({
  name: "harvest_object_create",
  access: SYSADMIN,
  doc: "Stores an object for a job (for harvesters and scripts that gather by themselves). The source is the " +
    "job's; state is accepted and ignored (new objects wait). Returns the object dict.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({
    job_id: zId,
    guid: z.string().max(1000).optional(),
    content: z.string().optional(),
    source_id: z.string().optional(),
    package_id: z.string().optional(),
    extras: z.record(z.string(), z.string({ error: "extras must be a dict of strings" }), {
      error: "extras must be a dict",
    }).optional(),
    state: z.string().optional(),
  }),
  async run(ctx, input) {
    const { sql } = ctx.services;
    const errors: Record<string, string[]> = {};
    const job = await getJob(sql, input.job_id).catch(() => undefined);
    if (!job) errors.job_id = [`Unknown harvest job: ${input.job_id}`];
    if (input.source_id && (!job || input.source_id !== job.source_id)) {
      const s = await sourceExists(sql, input.source_id);
      errors.source_id = [s ? "The source is not the job's source" : `Unknown harvest source: ${input.source_id}`];
    }
    let packageId: string | null = null;
    if (input.package_id) {
      const p = await findPackage(sql, input.package_id);
      if (!p) errors.package_id = [`Unknown dataset: ${input.package_id}`];
      else packageId = p.id;
    }
    if (Object.keys(errors).length > 0) throw new ValidationError(errors);
    const id = await createObject(sql, {
      guid: input.guid ?? "",
      content: input.content ?? null,
      jobId: job!.id,
      sourceId: job!.source_id,
      packageId,
    }, input.extras ?? {});
    const row = await getObjectRecord(sql, id);
    return await objectDict(sql, row!);
  },
});

export const harvestJobReport = defineAction({
  name: "harvest_job_report",
  access: EDITORS,
  doc: "A job's errors: {gather_errors: [{message, created}] newest first, object_errors: {object id: {guid, " +
    "original_url (when the harvester gives one), errors: [{message, line, type}]}}} ordered by object id, " +
    "at most `limit` objects (default 1000) from `offset`.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: true,
  input: z.object({ id: zId, limit: zInt(1, 10_000).optional(), offset: zInt(0).optional() }),
  async run(ctx, input) {
    const { sql, harvesters } = ctx.services;
    const job = await getJob(sql, input.id);
    const source = await editableSource(ctx, job.source_id, "see job reports");
    const gather = await gatherErrors(sql, job.id);
    const { objects, errors } = await objectsWithErrors(sql, job.id, input.limit ?? 1000, input.offset ?? 0);
    const harvester = harvesters.get(source.type);
    const info = sourceInfo(source);
    const objectErrors: Record<string, unknown> = {};
    for (const o of objects) {
      let originalUrl: string | undefined;
      try {
        originalUrl = harvester?.getOriginalUrl?.(
          { ...o, extras: {}, harvest_job_id: job.id, harvest_source_id: source.id },
          info,
        );
      } catch { /* a harvester's bug must not hide the report */ }
      objectErrors[o.id] = {
        guid: o.guid,
        ...(originalUrl ? { original_url: originalUrl } : {}),
        errors: errors.filter((e) => e.object === o.id).map((e) => ({
          message: e.message,
          line: e.line,
          type: e.stage,
        })),
      };
    }
    return {
      documents_not_modified: job.documents_not_modified ?? 0,
      changes: await changeSummary(sql, job.id),
      gather_errors: gather.map((g) => ({ message: g.message, created: harvestTime(g.created) })),
      object_errors: objectErrors,
    };
  },
});

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;

export const harvestLogList = defineAction({
  name: "harvest_log_list",
  access: SYSADMIN,
  doc: "The database log, newest first: [{content, level, created}]; level filters case-insensitively; " +
    "limit (or per_page) default 100, at most 1000.",
  auth: "sysadmin",
  sideEffectFree: true,
  input: z.object({
    level: z.string().transform((v) => v.toUpperCase()).pipe(z.enum(LEVELS)).optional(),
    limit: zInt(1, 1000).optional(),
    per_page: zInt(1, 1000).optional(),
    offset: zInt(0).optional(),
  }),
  async run(ctx, input) {
    const rows = await listLog(ctx.services.sql, {
      level: input.level ?? null,
      limit: input.per_page ?? input.limit ?? 100,
      offset: input.offset ?? 0,
    });
    return rows.map((r) => ({ content: r.content, level: r.level, created: harvestTime(r.created) }));
  },
});

export const harvestGetNotificationsRecipients = defineAction({
  name: "harvest_get_notifications_recipients",
  access: SYSADMIN,
  doc: "Who gets a source's status mails: sysadmins and the admins of its organization with an e-mail, " +
    "de-duplicated by address, plus whatever a plugin's recipients hook adds. [{name, email}].",
  auth: "sysadmin",
  sideEffectFree: true,
  input: z.object({ source_id: zId }),
  async run(ctx, input) {
    const source = await getSource(ctx.services.sql, input.source_id);
    return await notificationRecipients(ctx.services, source);
  },
});

export const harvestDatasetHistory = defineAction({
  name: "harvest_dataset_history",
  access: READERS,
  doc: "A harvested dataset's history, newest first: each harvest that added, updated or withdrew it, with the job, " +
    "when, and for updates the fields it changed ([{field, before, after}]: title, tags and groups as removed and " +
    "added names, extras.KEY, resources.ID.FIELD). Kept as long as the objects are (ckan.harvest.history.keep_days). " +
    "limit default 50, at most 1000.",
  auth: "whoever may see the dataset",
  sideEffectFree: true,
  input: z.object({ id: zId, limit: zInt(1, 1000).optional() }),
  async run(ctx, input) {
    const { sql } = ctx.services;
    const pkg = await showPackage(sql, input.id, {
      sysadmin: ctx.actor.sysadmin,
      orgIds: await memberOrgIds(sql, ctx.actor),
    });
    const rows = await datasetHistory(sql, pkg.id as string, input.limit ?? 50);
    return rows.map((r) => ({ ...r, harvested: harvestTime(r.harvested), changes: r.changes ?? [] }));
  },
});

export const objectActions = [
  harvestDatasetHistory,
  harvestObjectShow,
  harvestObjectList,
  harvestObjectCreate,
  harvestJobReport,
  harvestLogList,
  harvestGetNotificationsRecipients,
];
