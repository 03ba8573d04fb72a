import { EDITORS, SYSADMIN } from "./access.ts";
import { z } from "zod";
import { ValidationError } from "../errors/mod.ts";
import { getJob, jobDicts, type JobRow, runningJobsWithSource } from "../harvest/jobs.ts";
import { activeSources, getSource, sourcesWithoutPendingJob } from "../harvest/sources.ts";
import { selectForReimport } from "../harvest/objects.ts";
import { tick } from "../harvest/tick.ts";
import { abortJob, createJob, JobExistsError, queueJob } from "../harvest/lifecycle.ts";
import { reimportObject } from "../harvest/process.ts";
import { defineAction, zBool, zId, zInt } from "./registry.ts";
import { runJobInProcess } from "../harvest/run.ts";
import { editableSource } from "./sources.ts";

export const harvestJobsRun = defineAction({
  name: "harvest_jobs_run",
  access: SYSADMIN,
  doc: "The periodic tick: starts due sources (by frequency and next_run), finishes complete jobs, times out " +
    "stale ones (ckan.harvest.timeout), and re-queues lost work. Returns what it did.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({ source_id: z.string().optional() }),
  async run(ctx, input) {
    const sourceId = input.source_id ? (await getSource(ctx.services.sql, input.source_id)).id : undefined;
    const report = await tick(ctx.services, { sourceId });
    return {
      started: report.started,
      finished: report.finished,
      timed_out: report.timedOut,
      requeued_jobs: report.requeuedJobs,
      requeued_objects: report.requeuedObjects,
    };
  },
});

export const harvestJobCreateAll = defineAction({
  name: "harvest_job_create_all",
  access: SYSADMIN,
  doc: "Creates (and with run=true queues) a job for every active source without a pending job, whatever its " +
    "frequency. Returns the created jobs.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({ run: zBool.optional() }),
  async run(ctx, input) {
    const { sql } = ctx.services;
    const jobs: JobRow[] = [];
    for (const id of await sourcesWithoutPendingJob(sql)) {
      try {
        let job = await createJob(ctx.services, id);
        if (input.run ?? true) job = await queueJob(ctx.services, job);
        jobs.push(job);
      } catch (error) {
        if (!(error instanceof JobExistsError)) throw error;
      }
    }
    return await jobDicts(sql, jobs);
  },
});

export const harvestSendJobToGatherQueue = defineAction({
  name: "harvest_send_job_to_gather_queue",
  access: EDITORS,
  doc: "Sets a New (or Running) job Running and puts it on the gather queue. A Finished job is refused.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: false,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const job = await getJob(ctx.services.sql, input.id);
    const source = await editableSource(ctx, job.source_id, "run jobs");
    if (source.state !== "active") throw ValidationError.of("id", "Source is not active");
    const queued = await queueJob(ctx.services, job);
    return (await jobDicts(ctx.services.sql, [queued]))[0];
  },
});

const LIFESPAN_DAYS: Record<string, number | undefined> = { DAILY: 1, WEEKLY: 7, BIWEEKLY: 14, MONTHLY: 30 };

export const harvestAbortFailedJobs = defineAction({
  name: "harvest_abort_failed_jobs",
  access: SYSADMIN,
  doc: "Aborts Running jobs older than their source's lifespan (DAILY 1 day, WEEKLY 7, BIWEEKLY 14, MONTHLY 30; " +
    "MANUAL and ALWAYS sources use life_span, default 7). include/exclude are comma-separated source ids or " +
    "names; include wins. Returns 'There is no jobs to abort' or 'Done. Aborted jobs: N'.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({
    life_span: z.union([z.number(), z.string()]).optional(),
    include: z.string().optional(),
    exclude: z.string().optional(),
  }),
  async run(ctx, input) {
    const lifeSpan = Number(input.life_span);
    const defaultDays = Number.isInteger(lifeSpan) && lifeSpan > 0 ? lifeSpan : 7;
    const list = (v?: string) => (v ?? "").split(",").map((x) => x.trim()).filter((x) => x.length > 0);
    const include = list(input.include);
    const exclude = include.length > 0 ? [] : list(input.exclude);
    const jobs = await runningJobsWithSource(ctx.services.sql);
    const matches = (job: { source_id: string; name: string }, keys: string[]) =>
      keys.includes(job.source_id) || keys.includes(job.name);
    let aborted = 0;
    for (const job of jobs) {
      if (include.length > 0 && !matches(job, include)) continue;
      if (matches(job, exclude)) continue;
      const days = LIFESPAN_DAYS[job.frequency] ?? defaultDays;
      if (job.created.getTime() < Date.now() - days * 86_400_000) {
        await abortJob(ctx.services, job.id);
        aborted++;
      }
    }
    return aborted === 0 ? "There is no jobs to abort" : `Done. Aborted jobs: ${aborted}`;
  },
});

export const harvestObjectsImport = defineAction({
  name: "harvest_objects_import",
  access: SYSADMIN,
  doc: "Re-runs only the import stage on stored objects (nothing is fetched), forced even if unchanged. " +
    "Selects by guid (any source), source_id (an active source), harvest_object_id, package_id, or every " +
    "current object; join_datasets (default true) keeps only objects whose dataset is active; segments " +
    "(hex digits) keeps objects whose md5(id) starts with one of them; stale_mapping keeps the objects imported with " +
    "another mapping than the source's harvester applies now. Returns the number processed.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({
    source_id: z.string().optional(),
    guid: z.string().optional(),
    harvest_object_id: z.string().optional(),
    package_id: z.string().optional(),
    join_datasets: zBool.optional(),
    segments: z.string().regex(/^[0-9a-f]+$/i, "must be hex digits, e.g. 15af").optional(),
    stale_mapping: zBool.optional().describe(
      "only the current objects imported with another mapping than the source's harvester applies now",
    ),
  }),
  async run(ctx, input) {
    const { sql } = ctx.services;
    let sourceId: string | null = null;
    if (input.source_id && !input.guid) {
      const source = await getSource(sql, input.source_id);
      if (source.state !== "active") throw ValidationError.of("source_id", "This harvest source is not active");
      sourceId = source.id;
    }
    const join = input.package_id ? true : input.join_datasets ?? true;
    const segments = (input.segments ?? "").toLowerCase().split("");
    const filter = {
      objectId: input.harvest_object_id ?? null,
      guid: input.guid ?? null,
      sourceId,
      packageId: input.package_id ?? null,
      joinDatasets: join,
      segments: segments.filter((s) => s.length > 0),
    };
    let objects: string[] = [];
    if (input.stale_mapping) {
      // Per source: the mapping its harvester applies now, and the objects made by another.
      const sources = sourceId ? [await getSource(sql, sourceId)] : await activeSources(sql);
      for (const source of sources) {
        const expected = ctx.services.harvesters.get(source.type)?.mappingVersion?.(source.config);
        if (!expected) continue;
        objects.push(...await selectForReimport(sql, { ...filter, sourceId: source.id, notMapping: expected }));
      }
    } else objects = await selectForReimport(sql, filter);
    let processed = 0;
    for (const id of objects) {
      if (await reimportObject(ctx.services, id) !== "skipped") processed++;
    }
    return processed;
  },
});

export const harvestSourceRunTest = defineAction({
  name: "harvest_source_run_test",
  access: SYSADMIN,
  doc: "Runs gather, fetch and import of a source in this process, without the queues (`harvester run-test`), and " +
    "answers when the job is finished: {jobId, stats, gatherErrors, objectErrors, seconds, status}. With guid, only " +
    "records whose guid occurs in it are processed, imported even if unchanged, and nothing is withdrawn. Refused " +
    "while the source has a Running job. Over HTTP the request lasts as long as the harvest: scripts that start " +
    "harvests use harvest_job_create.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({
    id: zId,
    guid: z.string().optional().describe("only these records (also written force-import=GUID)"),
    concurrency: zInt(1, 64).optional().describe("lots of objects imported at once (default 4)"),
  }),
  async run(ctx, input) {
    const source = await getSource(ctx.services.sql, input.id);
    const guid = input.guid?.includes("=") ? input.guid.slice(input.guid.lastIndexOf("=") + 1) : input.guid;
    return await runJobInProcess(ctx, source, {
      guid,
      concurrency: input.concurrency ?? 4,
      onProgress: ctx.onProgress,
    });
  },
});

export const lifecycleActions = [
  harvestJobsRun,
  harvestJobCreateAll,
  harvestSendJobToGatherQueue,
  harvestAbortFailedJobs,
  harvestObjectsImport,
  harvestSourceRunTest,
];
