import { EDITORS, SYSADMIN } from "./access.ts";
import { z } from "zod";
import { getJob, jobDicts, type JobRow, listJobs, newestJobOfSource } from "../harvest/jobs.ts";
import { editorOrgIds } from "../auth/users.ts";
import { AuthorizationError } from "../errors/mod.ts";
import { abortJob, createJob, startJob } from "../harvest/lifecycle.ts";
import { type ActionContext, defineAction, zBool, zId, zInt } from "./registry.ts";
import { editableSource } from "./sources.ts";

export const harvestJobCreate = defineAction({
  name: "harvest_job_create",
  access: EDITORS,
  doc: "Creates a job for a source; with run=true (the default) it is set Running and queued for gather.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: false,
  input: z.object({ source_id: zId, run: zBool.optional() }),
  async run(ctx, input) {
    const source = await editableSource(ctx, input.source_id, "create jobs");
    const job = input.run ?? true ? await startJob(ctx.services, source.id) : await createJob(ctx.services, source.id);
    return (await jobDicts(ctx.services.sql, [job], { summaries: true }))[0];
  },
});

async function jobForEditor(ctx: ActionContext, id: string): Promise<JobRow> {
  const job = await getJob(ctx.services.sql, id);
  await editableSource(ctx, job.source_id, "see jobs");
  return job;
}

export const harvestJobShow = defineAction({
  name: "harvest_job_show",
  access: EDITORS,
  doc: "Shows a job with its stats and error summaries.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: true,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const job = await jobForEditor(ctx, input.id);
    return (await jobDicts(ctx.services.sql, [job], { summaries: true }))[0];
  },
});

export const harvestJobList = defineAction({
  name: "harvest_job_list",
  access: EDITORS,
  doc: "Lists jobs, newest first, a page at a time (default 100), optionally of one source and status.",
  auth: "editor or admin of the source's organization; without source_id, the jobs of the sources the caller edits",
  sideEffectFree: true,
  input: z.object({
    source_id: z.string().optional(),
    status: z.enum(["New", "Running", "Finished", "Aborted"]).optional(),
    limit: zInt(1, 1000).optional(),
    offset: zInt(0).optional(),
  }),
  async run(ctx, input) {
    const { sql } = ctx.services;
    let sourceId: string | null = null;
    if (input.source_id) sourceId = (await editableSource(ctx, input.source_id, "see jobs")).id;
    else if (!ctx.actor.sysadmin && !ctx.actor.id) {
      throw new AuthorizationError("Anonymous users are not authorized to list harvest jobs");
    }
    const jobs = await listJobs(sql, {
      sourceId,
      status: input.status ?? null,
      orgIds: ctx.actor.sysadmin ? undefined : await editorOrgIds(sql, ctx.actor),
      limit: input.limit ?? 100,
      offset: input.offset ?? 0,
    });
    return await jobDicts(sql, jobs);
  },
});

export const harvestJobAbort = defineAction({
  name: "harvest_job_abort",
  access: SYSADMIN,
  doc: "Stops a job: given a job id, or a source id or name (its newest job), sets the job Finished " +
    "(recording the finish time) and its unfinished objects ERROR.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({ id: z.string().optional(), source_id: z.string().optional() }).refine((v) => v.id || v.source_id, {
    message: "Missing value",
    path: ["id"],
  }),
  async run(ctx, input) {
    const { sql } = ctx.services;
    const key = (input.source_id ?? input.id)!;
    const bySource = await newestJobOfSource(sql, key);
    const job = bySource ?? await getJob(sql, key);
    await abortJob(ctx.services, job.id);
    return (await jobDicts(sql, [await getJob(sql, job.id)], { summaries: true }))[0];
  },
});

export const jobActions = [harvestJobCreate, harvestJobShow, harvestJobList, harvestJobAbort];
