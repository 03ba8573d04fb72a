import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import { fetchMessage, gatherMessage } from "../queue/mod.ts";
import { gatherJob } from "./gather.ts";
import { processObjects } from "./process.ts";
import { lotsByJob, releaseOwnLeases } from "./objects.ts";
import { admit, finished, sourceCap } from "./window.ts";
import { tick } from "./tick.ts";
import { trimHistory } from "./source_history.ts";
import { completeJob } from "./lifecycle.ts";
import { sleep } from "../queue/retry.ts";
import { tryLock, unlock } from "../db/locks.ts";

const log = getLogger(["harvest", "consumer"]);

function parse<T>(body: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }) {
  try {
    const result = schema.safeParse(JSON.parse(body));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Handles one gather message: gathers the job and queues its objects batch by batch, the first
 * `ckan.harvest.fast_lane.max_objects` on the fast lane and the rest on the bulk lane; or, for a
 * source with a concurrency cap, through its window (window.ts).
 */
export async function handleGather(services: Services, body: string): Promise<void> {
  const message = parse(body, gatherMessage);
  if (!message) {
    log.warning("Dropped a gather message that is not {harvest_job_id}: {body}", { body: body.slice(0, 200) });
    return;
  }
  const jobId = message.harvest_job_id;
  let cap = 0;
  let fastLeft = services.config.values["ckan.harvest.fast_lane.max_objects"];
  const bodies = (ids: string[]) => ids.map((id) => JSON.stringify({ harvest_object_id: id }));
  await gatherJob(services, jobId, {
    // Decided by the source's config, which the gather reads anyway.
    park: (config) => (cap = sourceCap(services, config)) > 0,
    publish: async (ids) => {
      if (cap > 0) return await admit(services, jobId, cap);
      const fast = ids.slice(0, Math.max(fastLeft, 0));
      fastLeft -= fast.length;
      if (fast.length > 0) await services.queue.publish("fetch", bodies(fast), "fast");
      if (fast.length < ids.length) await services.queue.publish("fetch", bodies(ids.slice(fast.length)));
    },
  });
  await completeJob(services, jobId);
}

/**
 * Groups the fetch messages a consumer is handling at the same moment (up to its concurrency) so
 * their imports share one transaction. Each message is still acknowledged on its own, after the
 * commit that covers it.
 */
class FetchBatcher {
  #pending: { id: string; done: (error?: unknown) => void }[] = [];
  #scheduled = false;

  constructor(private readonly services: Services, private readonly size = 25) {}

  add(id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ id, done: (error) => error === undefined ? resolve() : reject(error) });
      if (this.#pending.length >= this.size) this.#flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setTimeout(() => this.#flush(), 2);
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const lot = this.#pending.splice(0);
    if (lot.length === 0) return;
    const ids = lot.map((p) => p.id);
    processObjects(this.services, ids)
      .then(async (outcomes) => {
        const processed = ids.filter((id) => outcomes.get(id) !== "skipped");
        const lots = await lotsByJob(this.services.sql, processed);
        await finished(this.services, lots.filter((l) => l.windowed));
        for (const { job } of lots) await completeJob(this.services, job);
      })
      .then(() => lot.forEach((p) => p.done()), async (error) => {
        // The database went away mid-lot (a restart, or this process was frozen long enough for its
        // session to be ended): its leases are given up at once, where the database can be reached,
        // so the messages, delivered again after the retry delay, find the objects free.
        const released = await releaseOwnLeases(this.services.sql, ids)
          .catch(() => 0);
        log.warning("A lot of {n} failed ({error}); {released} lease(s) released, delivered again shortly", {
          n: ids.length,
          error: String(error),
          released,
        });
        lot.forEach((p) => p.done(error ?? new Error("failed")));
      });
  }
}

/** Handles one fetch message: fetch and import of one object (batched with others), then the job's finish check. */
export async function handleFetch(services: Services, body: string): Promise<void> {
  const message = parse(body, fetchMessage);
  if (!message) {
    log.warning("Dropped a fetch message that is not {harvest_object_id}: {body}", { body: body.slice(0, 200) });
    return;
  }
  services.work.fetchBatcher ??= new FetchBatcher(services, services.config.values["ckan.harvest.fetch.lot_size"]);
  await services.work.fetchBatcher.add(message.harvest_object_id);
}

export interface ConsumerOptions {
  gather: boolean;
  fetch: boolean;
  /** Lots fetched and imported at once by this process, each of up to `ckan.harvest.fetch.lot_size` objects. */
  concurrency: number;
  signal: AbortSignal;
}

/** Runs the gather and/or fetch consumers until the signal aborts; each reconnects by itself. */
export async function runConsumers(services: Services, options: ConsumerOptions): Promise<void> {
  const loops: Promise<void>[] = [];
  if (options.gather) {
    loops.push(services.queue.listen("gather", (body) => handleGather(services, body), {
      signal: options.signal,
      concurrency: services.config.values["ckan.harvest.gather.concurrency"],
      retryDelay: services.config.values["ckan.harvest.mq.retry_delay"],
    }));
  }
  if (options.fetch) {
    // Enough messages in hand to fill `concurrency` lots: one transaction imports a whole lot.
    loops.push(services.queue.listen("fetch", (body) => handleFetch(services, body), {
      signal: options.signal,
      concurrency: options.concurrency * services.config.values["ckan.harvest.fetch.lot_size"],
      retryDelay: services.config.values["ckan.harvest.mq.retry_delay"],
    }));
  }
  await Promise.all(loops);
}

const LOCK_TICK = "tick";

/** Runs one tick unless another scheduler holds the tick lock; returns whether it ran. */
export async function lockedTick(services: Services, holder: string): Promise<boolean> {
  if (!await tryLock(services.sql, LOCK_TICK, holder, 600)) return false;
  try {
    const report = await tick(services);
    if (report.started.length || report.finished.length || report.timedOut.length) {
      log.info("Tick: started {started}, finished {finished}, timed out {timedOut}", {
        started: report.started.length,
        finished: report.finished.length,
        timedOut: report.timedOut.length,
      });
    }
    return true;
  } finally {
    await unlock(services.sql, LOCK_TICK, holder);
  }
}

export interface SchedulerOptions {
  /** Cron expression of the tick (Deno.cron, minute granularity). */
  cron: string;
  /** Seconds between ticks instead of the cron expression, for sub-minute schedules. */
  intervalSeconds?: number;
  signal: AbortSignal;
}

/**
 * The scheduler: the tick on a schedule (Deno.cron) and the log clean-up daily. Several schedulers
 * may run at once: a cluster-wide lock lets one tick at a time, and the database refuses a second
 * pending job for a source, so a job is never started twice.
 */
export async function runScheduler(services: Services, options: SchedulerOptions): Promise<void> {
  const holder = `${Deno.hostname()}:${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const safeTick = async () => {
    try {
      await lockedTick(services, holder);
    } catch (error) {
      log.error("Tick failed: {error}", { error: String(error) });
    }
  };
  const cleanup = async () => {
    try {
      if (await tryLock(services.sql, "clean-harvest-log", holder, 3600)) {
        const r = await trimHistory(services);
        log.info("History trimmed: {jobs} job(s), {objects} object(s), {logRows} log row(s) removed", {
          jobs: r.jobs,
          objects: r.objects,
          logRows: r.log_rows,
        });
      }
    } catch (error) {
      log.error("History trim failed: {error}", { error: String(error) });
    }
  };
  const jobs: Promise<void>[] = [Deno.cron("harvest history trim", "17 3 * * *", { signal: options.signal }, cleanup)];
  if (options.intervalSeconds) {
    await safeTick();
    while (!options.signal.aborted) {
      await sleep(options.intervalSeconds * 1000, options.signal);
      if (!options.signal.aborted) await safeTick();
    }
  } else {
    jobs.push(Deno.cron("harvest tick", options.cron, { signal: options.signal }, safeTick));
  }
  await Promise.allSettled(jobs);
}
