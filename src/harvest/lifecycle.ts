/**
 * The job lifecycle, in the core: create, queue, abort and complete, over the database and the queue.
 * The actions, the tick and `run-test` all go through it; completion runs the hooks the services
 * registered when they opened (status mails, ...), and a second pending job is a typed error.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import { ValidationError } from "../errors/mod.ts";
import type { Lane } from "../queue/mod.ts";
import {
  deleteUnstarted,
  finishJobIfComplete,
  insertJob,
  type JobRow,
  markAborted,
  markFinished,
  markQueued,
} from "./jobs.ts";
import { failUnfinished, saveObjectError } from "./objects.ts";
import { saveGatherError } from "./gather.ts";
import { getSource } from "./sources.ts";
import { closeWindow } from "./window.ts";

const log = getLogger(["harvest", "lifecycle"]);

/** The message of the original for a second pending job of a source. */
export const JOB_EXISTS = "There already is an unrun job for this source";

/** A source already has a New or Running job. A `ValidationError` on `source_id`, as the original answers. */
export class JobExistsError extends ValidationError {
  override name = "JobExistsError";
  constructor() {
    super({ source_id: [JOB_EXISTS] });
  }
}

export type { JobFinishedHook } from "../services_type.ts";

/**
 * Creates a New job for a source, refusing a second pending one with `JobExistsError` (the database's
 * partial unique index settles races between callers).
 */
export async function createJob(services: Services, sourceId: string): Promise<JobRow> {
  const { sql } = services;
  const source = await getSource(sql, sourceId);
  if (source.state !== "active") throw ValidationError.of("source_id", "Can not create jobs on inactive sources");
  try {
    return await insertJob(sql, source.id);
  } catch (error) {
    if ((error as { constraint_name?: string }).constraint_name === "harvest_job_one_pending_idx") {
      throw new JobExistsError();
    }
    throw error;
  }
}

/**
 * Sets a job Running and puts it on the gather queue: on the fast lane unless told otherwise (a
 * person asked for this run; the tick says which lane a scheduled run goes on).
 */
export async function queueJob(services: Services, job: JobRow, lane: Lane = "fast"): Promise<JobRow> {
  const running = await markQueued(services.sql, job.id);
  if (!running) throw ValidationError.of("id", `Job ${job.id} is ${job.status} and cannot be queued`);
  await services.queue.publish("gather", [JSON.stringify({ harvest_job_id: job.id })], lane);
  return running;
}

/**
 * Creates a job and queues it; when the broker does not take it, the job is removed again, so no job
 * is left Running that nobody will gather.
 */
export async function startJob(services: Services, sourceId: string, lane: Lane = "fast"): Promise<JobRow> {
  const job = await createJob(services, sourceId);
  try {
    return await queueJob(services, job, lane);
  } catch (error) {
    await deleteUnstarted(services.sql, job.id);
    throw error;
  }
}

/**
 * Sets a job Running for a run in this process (`run-test`): the `queue` transition, without a
 * message, since this process gathers it itself.
 */
export async function runInProcess(services: Services, job: JobRow): Promise<JobRow> {
  const running = await markQueued(services.sql, job.id);
  if (!running) throw ValidationError.of("id", `Job ${job.id} is ${job.status} and cannot be run`);
  return running;
}

/** Aborts a job: Finished with a finish time, and its unfinished objects failed (reported errored). */
export async function abortJob(services: Services, jobId: string): Promise<void> {
  await services.sql.begin(async (tx) => {
    await markAborted(tx, jobId);
    await failUnfinished(tx, jobId);
  });
}

/**
 * Finishes a Running job that showed no activity for `minutes`: a gather error says so, and each
 * unfinished object fails with an error of its own. False when the job was no longer Running.
 */
export async function timeOutJob(services: Services, job: JobRow, minutes: number, report: string): Promise<boolean> {
  return await services.sql.begin(async (tx) => {
    if (!await markFinished(tx, job.id)) return false;
    await saveGatherError(tx, job.id, report);
    for (const id of await failUnfinished(tx, job.id)) {
      await saveObjectError(tx, id, `The job timed out after ${minutes} minutes without activity`, "Fetch");
    }
    return true;
  });
}

/**
 * Finishes a job if it is complete, then runs the services' finish hooks. Consumers call it after each
 * lot and after gather, so a job finishes by itself, without waiting for a tick.
 */
export async function completeJob(services: Services, jobId: string): Promise<boolean> {
  if (!await finishJobIfComplete(services.sql, jobId)) return false;
  log.info("Job {jobId} finished", { jobId });
  await closeWindow(services.sql, jobId);
  for (const hook of services.hooks.jobFinished) {
    try {
      await hook(services, jobId);
    } catch (error) {
      log.error("After-finish work for job {jobId} failed: {error}", { jobId, error: String(error) });
    }
  }
  return true;
}
