/**
 * Clearing sources and their history, reindexing, and a source's status.
 *
 * @module
 */
import { EDITORS, READERS, SYSADMIN } from "./access.ts";
import { z } from "zod";
import { stalledWork } from "../harvest/stalled.ts";
import { seenWithin } from "../db/consumers.ts";
import { analyzeAll, analyzePackages } from "../db/maintenance.ts";
import { allSourceIds } from "../harvest/sources.ts";
import { cleanHarvestLog } from "../harvest/tick.ts";
import { defineAction, zBool, zId } from "./registry.ts";
import { editableSource, readableSource, sourceStatus } from "./sources.ts";
import { jobDicts, runningJobs } from "../harvest/jobs.ts";
import { recentFailures } from "../harvest/reports.ts";
import { clearSource, clearSourceHistory, refuseWhileRunning, trimHistory } from "../harvest/source_history.ts";

export const harvestSourceClear = defineAction({
  name: "harvest_source_clear",
  access: EDITORS,
  doc: "Purges the datasets this source harvested (only those no other source holds), and every job, object " +
    "and error of the source; the source itself is kept. Refused while a job runs. Returns {id, datasets}.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: false,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const source = await editableSource(ctx, input.id, "clear");
    await refuseWhileRunning(ctx.services.sql, source.id, "clearing it");
    const datasets = await clearSource(ctx.services, source.id);
    return { id: source.id, datasets };
  },
});

const keepCurrent = zBool.optional().describe(
  "Accepted for compatibility. Current objects are always kept: deleting them would make the next harvest " +
    "duplicate every dataset",
);

export const harvestSourceJobHistoryClear = defineAction({
  name: "harvest_source_job_history_clear",
  access: EDITORS,
  doc: "Deletes a source's finished jobs, their objects and errors; keeps its datasets, the objects that link " +
    "them to remote records (and their jobs), and running jobs. Returns {id, jobs}.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: false,
  input: z.object({ id: zId, keep_current: keepCurrent }),
  async run(ctx, input) {
    const source = await editableSource(ctx, input.id, "clear the history");
    const jobs = await ctx.services.sql.begin((tx) => clearSourceHistory(tx, source.id));
    return { id: source.id, jobs };
  },
});

export const harvestSourcesJobHistoryClear = defineAction({
  name: "harvest_sources_job_history_clear",
  access: SYSADMIN,
  doc: "harvest_source_job_history_clear for every source (private and inactive ones too). Returns [{id, jobs}].",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({ keep_current: keepCurrent }),
  async run(ctx) {
    const { sql } = ctx.services;
    const out = [];
    for (const id of await allSourceIds(sql)) {
      out.push({
        id,
        jobs: await sql.begin((tx) => clearSourceHistory(tx, id)),
      });
    }
    return out;
  },
});

export const harvestSourceReindex = defineAction({
  name: "harvest_source_reindex",
  access: EDITORS,
  doc: "Kept for scripts written for the original. There is no separate search index to go stale: searches " +
    "and source status read the database, so this only refreshes the planner statistics. Returns true.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: false,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    await editableSource(ctx, input.id, "reindex");
    await analyzePackages(ctx.services.sql);
    return true;
  },
});

export const harvestSourcesReindex = defineAction({
  name: "harvest_sources_reindex",
  access: SYSADMIN,
  doc: "As harvest_source_reindex, for every source. Returns true.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({}),
  async run(ctx) {
    await analyzeAll(ctx.services.sql);
    return true;
  },
});

export const harvestSourceShowStatus = defineAction({
  name: "harvest_source_show_status",
  access: READERS,
  doc: "A source's status: {job_count, last_job (with stats and error summaries) or null, total_datasets}. " +
    "Accepts the id or the name.",
  auth: "anyone for public sources; organization members for private ones",
  sideEffectFree: true,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const source = await readableSource(ctx, input.id);
    return await sourceStatus(ctx.services.sql, source.id);
  },
});

export const harvestStatusShow = defineAction({
  name: "harvest_status_show",
  access: SYSADMIN,
  doc: "The operator's dashboard: running jobs (with progress), queue depth, live consumers, and the 20 newest " +
    "finished jobs with errors.",
  auth: "sysadmin",
  sideEffectFree: true,
  input: z.object({}),
  async run(ctx) {
    const { sql, queue } = ctx.services;
    const running = await runningJobs(sql);
    const finished = await recentFailures(sql);
    const consumers = await seenWithin(sql, 3600);
    return {
      running_jobs: await jobDicts(sql, running, { summaries: true }),
      queue_depth: { gather: await queue.depth("gather"), fetch: await queue.depth("fetch") },
      consumers: consumers.map((c) => ({ id: c.id, kind: c.kind, last_seen_seconds: Math.round(c.age) })),
      recent_failures: await jobDicts(sql, finished),
      workers_warning: await stalledWork(sql),
    };
  },
});

export const harvestQueuesPurge = defineAction({
  name: "harvest_queues_purge",
  access: SYSADMIN,
  doc: "Removes every waiting message of the gather and fetch queues (`harvester purge-queues`). Jobs and objects " +
    "stay as they are; the tick queues lost work again. Returns {gather, fetch}: how many were removed.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({}),
  async run(ctx) {
    const { queue } = ctx.services;
    return { gather: await queue.purge("gather"), fetch: await queue.purge("fetch") };
  },
});

export const harvestLogClean = defineAction({
  name: "harvest_log_clean",
  access: SYSADMIN,
  doc: "Deletes database log rows older than ckan.harvest.log_timeframe days (`harvester clean-harvest-log`; the " +
    "scheduler does it daily). Returns {deleted, days}.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({}),
  async run(ctx) {
    return {
      deleted: await cleanHarvestLog(ctx.services),
      days: ctx.services.config.values["ckan.harvest.log_timeframe"],
    };
  },
});

export const harvestHistoryTrim = defineAction({
  name: "harvest_history_trim",
  access: SYSADMIN,
  doc: "Bounded history, as the scheduler runs it daily: per source, keeps the ckan.harvest.history.keep_jobs newest " +
    "finished jobs and ckan.harvest.history.keep_days days of superseded objects, and never anything holding a " +
    "dataset's current object; the database log keeps ckan.harvest.log_timeframe days. Returns {sources, jobs, " +
    "objects, log_rows, keep_jobs, keep_days}: what was removed and the bounds used.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({}),
  async run(ctx) {
    return { ...await trimHistory(ctx.services) };
  },
});

export const maintenanceActions = [
  harvestHistoryTrim,
  harvestQueuesPurge,
  harvestLogClean,
  harvestStatusShow,
  harvestSourceClear,
  harvestSourceJobHistoryClear,
  harvestSourcesJobHistoryClear,
  harvestSourceReindex,
  harvestSourcesReindex,
  harvestSourceShowStatus,
];
