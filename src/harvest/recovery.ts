/**
 * Recovery in seconds: every long-running process, after each heartbeat, looks for processes that
 * stopped reporting alive (`ckan.harvest.consumer.dead_after`, default 10 s) and releases the leases
 * they held (objects being fetched or imported, gathers), queueing that work again at once. Live
 * processes keep their leases for the whole visibility timeout, however slow their work is; only
 * silence releases them early.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import { forget, silentFor } from "../db/consumers.ts";
import { releaseGathersOf } from "./jobs.ts";
import { releaseLeasesOf, stillLeasing } from "./objects.ts";

const log = getLogger(["harvest", "recovery"]);

/** Releases and queues again the work of processes silent for longer than `dead_after`. */
export async function recoverDeadProcesses(
  services: Services,
): Promise<{ processes: string[]; jobs: number; objects: number }> {
  const { sql, queue } = services;
  const dead = await silentFor(sql, services.config.values["ckan.harvest.consumer.dead_after"]);
  if (dead.length === 0) return { processes: [], jobs: 0, objects: 0 };
  // Messages the dead took from the broker but had not started yet, then the work they had started.
  const messages = await queue.releaseHolders?.(dead) ?? 0;
  const jobs = await releaseGathersOf(sql, dead);
  const objects = await releaseLeasesOf(sql, dead);
  // Work that was already under way when its process died goes first: the fast lane.
  if (jobs.length) await queue.publish("gather", jobs.map((id) => JSON.stringify({ harvest_job_id: id })), "fast");
  for (let i = 0; i < objects.length; i += 500) {
    const bodies = objects.slice(i, i + 500).map((id) => JSON.stringify({ harvest_object_id: id }));
    await queue.publish("fetch", bodies, "fast");
  }
  // A process whose last transaction still locks some of its objects is remembered, and looked at
  // again after the next heartbeat, until PostgreSQL has ended that transaction.
  const locked = await stillLeasing(sql, dead);
  for (const id of dead) if (!locked.has(id)) await forget(sql, id);
  if (jobs.length || objects.length || messages) {
    log.warning(
      "Released the work of {n} silent process(es) ({processes}): {jobs} gather(s) and {objects} object(s) " +
        "queued again, {messages} message(s) delivered again",
      { n: dead.length, processes: dead.join(", "), jobs: jobs.length, objects: objects.length, messages },
    );
  }
  return { processes: dead, jobs: jobs.length, objects: objects.length };
}
