import type { Services } from "../services_type.ts";
import { ValidationError } from "../errors/mod.ts";
import { getJob, jobStats, pendingJob } from "./jobs.ts";
import { gatherErrorMessages, objectErrorCount } from "./reports.ts";
import { completeJob, createJob, runInProcess } from "./lifecycle.ts";
import { gatherJob } from "./gather.ts";
import { type ObjectOutcome, processObjects } from "./process.ts";
import { type ClaimedObject, dropObjects } from "./objects.ts";
import { guidsOf } from "./reports.ts";

/** Objects imported per transaction by `run-test`. */
const BATCH = 100;
import type { SourceRow } from "./sources.ts";
import type { Harvester } from "./interface.ts";
import { emptyStats, type JobStats } from "./dicts.ts";

/** Live counts of a job run in this process. */
export interface Progress {
  gathered: number;
  done: number;
  counts: JobStats;
}

export interface RunSummary {
  jobId: string;
  stats: JobStats;
  gatherErrors: string[];
  objectErrors: number;
  seconds: number;
  status: string;
}

export interface RunOptions {
  /** Only objects whose guid occurs in this string are processed, and imported even if unchanged. */
  guid?: string;
  concurrency?: number;
  onProgress?(progress: Progress): void;
  signal?: AbortSignal;
  /** Runs with this harvester instead of the source type's (`harvester apply` replays a preview). */
  harvester?: Harvester;
}

/**
 * Runs gather, fetch and import of a new job in this process, without the queues (`run-test`):
 * the job is never put on the gather queue, so a running consumer cannot gather it a second time.
 * Objects are processed as gather writes them.
 */
export async function runJobInProcess(
  /** An action context will do; only the services are used (a run-test acts as the site). */
  ctx: { services: Services; actor?: unknown },
  source: SourceRow,
  options: RunOptions = {},
): Promise<RunSummary> {
  const { services } = ctx;
  const { sql } = services;
  const started = performance.now();
  const pending = await pendingJob(sql, source.id);
  if (pending?.status === "Running") {
    throw ValidationError.of(
      "source",
      `There already is a running job for ${source.name} (job ${pending.id}); stop it with: harvester job-abort ${pending.id}`,
    );
  }
  const job = pending ?? await createJob(services, source.id);
  await runInProcess(services, job);

  const progress: Progress = {
    gathered: 0,
    done: 0,
    counts: emptyStats(),
  };
  const report = () => options.onProgress?.(progress);
  // Gathered objects come claimed by this process (GatherOptions.claim); withdrawals as ids.
  const queue: { id: string; claimed?: ClaimedObject }[] = [];
  let gatherDone = false;
  // Lots being imported, and who waits for the queue to drain (the gather, before it ends: `settle`).
  let busy = 0;
  let failure: { error: unknown } | undefined;
  let drained: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  const checkDrained = () => {
    if (!failure && (queue.length > 0 || busy > 0)) return;
    for (const d of drained) failure ? d.reject(failure.error) : d.resolve();
    drained = [];
  };
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const record = (outcome: ObjectOutcome) => {
    if (outcome !== "skipped") progress.counts[outcome]++;
    progress.done++;
    report();
  };

  const worker = async () => {
    for (;;) {
      // Objects are imported a small lot per transaction.
      const lot = queue.splice(0, BATCH);
      const ids = lot.map((q) => q.id);
      if (ids.length === 0) {
        checkDrained();
        if (gatherDone) return;
        await new Promise<void>((resolve) => {
          const previous = wake;
          wake = () => {
            previous?.();
            resolve();
          };
        });
        continue;
      }
      busy++;
      try {
        const outcomes = await processObjects(services, ids, {
          forceImport: options.guid !== undefined,
          signal: options.signal,
          harvester: options.harvester,
          claimed: lot.flatMap((q) => q.claimed ? [q.claimed] : []),
        });
        for (const id of ids) record(outcomes.get(id) ?? "skipped");
      } catch (error) {
        // The gather must not end as if its unsaved objects were written.
        failure ??= { error };
        throw error;
      } finally {
        busy--;
        checkDrained();
      }
    }
  };
  const workers = Array.from({ length: options.concurrency ?? 4 }, worker);

  await gatherJob(services, job.id, {
    signal: options.signal,
    force: options.guid !== undefined,
    guidFilter: options.guid !== undefined,
    harvester: options.harvester,
    claim: true,
    // A source's first harvest: each object is written once, with its import; the gather waits for them.
    defer: true,
    settle: () => {
      const done = new Promise<void>((resolve, reject) => drained.push({ resolve, reject }));
      checkDrained();
      return done;
    },
    onBatch: (gathered, unchanged) => {
      progress.gathered += gathered;
      progress.counts["not modified"] += unchanged;
      progress.done += unchanged;
      report();
    },
    publish: async (ids, claimed) => {
      let selected = ids;
      if (options.guid !== undefined) {
        const rows = claimed ?? await guidsOf(sql, ids);
        const chosen = new Set(rows.filter((r) => options.guid!.includes(r.guid)).map((r) => r.id));
        selected = ids.filter((id) => chosen.has(id));
        const others = ids.filter((id) => !chosen.has(id));
        // Records outside the test are not part of this run.
        await dropObjects(sql, others);
        progress.gathered -= others.length;
      }
      const held = new Map(claimed?.map((o) => [o.id, o]));
      queue.push(...selected.map((id) => ({ id, claimed: held.get(id) })));
      notify();
      // Back-pressure: let the workers catch up before gathering more.
      while (queue.length > 2000) await new Promise((r) => setTimeout(r, 20));
    },
  });
  gatherDone = true;
  notify();
  await Promise.all(workers);
  await completeJob(services, job.id);

  const stats = (await jobStats(sql, [job.id])).get(job.id)!;
  const gatherErrors = await gatherErrorMessages(sql, job.id);
  const objectErrors = await objectErrorCount(sql, job.id);
  const final = await getJob(sql, job.id);
  return {
    jobId: job.id,
    stats,
    gatherErrors,
    objectErrors,
    seconds: (performance.now() - started) / 1000,
    status: final.status,
  };
}
