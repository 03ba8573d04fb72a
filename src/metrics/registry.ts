/**
 * One Prometheus registry per services object (prom-client): the remote request figures this process
 * measured, and gauges read from the database and the broker when scraped, so any process's
 * `/metrics` shows the whole cluster. Nothing lives in module globals: two services in one process
 * (as in tests) each scrape their own database.
 *
 * @module
 */
import client from "prom-client";
import type { Queryable } from "../db/sql.ts";
import { aliveByKind, seenWithin } from "../db/consumers.ts";
import { jobCountsByStatus } from "../harvest/jobs.ts";
import { importsLastMinute, unfinishedJobObjectStates } from "../harvest/reports.ts";
import { JOB_STATUSES, OBJECT_STATES } from "../harvest/states.ts";

/** What the gauges read at scrape time. */
export interface GaugeSources {
  sql: Queryable;
  queue: { depth(queue: "gather" | "fetch"): Promise<number> };
}

export class MetricsRegistry {
  readonly registry = new client.Registry();
  /** Remote requests by source (the harvest source name, or "-" outside a harvest) and host. */
  readonly remoteLatency: client.Histogram<"source" | "host">;
  readonly remoteErrors: client.Counter<"source" | "host" | "kind">;
  /** Lots of objects imported: together in one transaction, or one by one after an import of the lot failed. */
  readonly importLots: client.Counter<"written">;
  #sources: GaugeSources | undefined;

  constructor() {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: "harvest_process_" });
    this.remoteLatency = new client.Histogram({
      name: "harvest_remote_request_duration_seconds",
      help: "Duration of requests to remote catalogs",
      labelNames: ["source", "host"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.remoteErrors = new client.Counter({
      name: "harvest_remote_request_errors_total",
      help: "Failed requests to remote catalogs (network errors, timeouts, HTTP errors, refused addresses)",
      labelNames: ["source", "host", "kind"] as const,
      registers,
    });
    this.importLots = new client.Counter({
      name: "harvest_import_lots_total",
      help: "Lots of objects imported by this process: written together, or one by one after one import failed",
      labelNames: ["written"] as const,
      registers,
    });
    const read = () => {
      if (!this.#sources) throw new Error("metrics scraped before the services opened");
      return this.#sources;
    };
    new client.Gauge({
      name: "harvest_jobs",
      help: "Harvest jobs by status",
      labelNames: ["status"] as const,
      registers,
      async collect() {
        const counts = await jobCountsByStatus(read().sql);
        for (const s of JOB_STATUSES) this.set({ status: s }, counts.get(s) ?? 0);
      },
    });
    new client.Gauge({
      name: "harvest_objects",
      help: "Objects of unfinished (New or Running) jobs by state",
      labelNames: ["state"] as const,
      registers,
      async collect() {
        const counts = await unfinishedJobObjectStates(read().sql);
        for (const s of OBJECT_STATES) this.set({ state: s }, counts.get(s) ?? 0);
      },
    });
    new client.Gauge({
      name: "harvest_queue_depth",
      help: "Messages waiting on each queue",
      labelNames: ["queue"] as const,
      registers,
      async collect() {
        for (const q of ["gather", "fetch"] as const) this.set({ queue: q }, await read().queue.depth(q));
      },
    });
    new client.Gauge({
      name: "harvest_imported_datasets_per_second",
      help: "Objects imported per second over the last minute, all processes",
      registers,
      async collect() {
        this.set(await importsLastMinute(read().sql) / 60);
      },
    });
    new client.Gauge({
      name: "harvest_consumer_last_seen_seconds",
      help: "Seconds since each long-running process (worker, consumer, scheduler) last reported alive",
      labelNames: ["consumer", "kind"] as const,
      registers,
      async collect() {
        this.reset();
        for (const r of await seenWithin(read().sql, 86_400)) this.set({ consumer: r.id, kind: r.kind }, r.age);
      },
    });
    new client.Gauge({
      name: "harvest_consumers_alive",
      help: "Long-running processes seen in the last minute, by kind",
      labelNames: ["kind"] as const,
      registers,
      async collect() {
        this.reset();
        const alive = await aliveByKind(read().sql);
        for (const k of ["worker", "gather-consumer", "fetch-consumer", "scheduler"]) {
          this.set({ kind: k }, alive.get(k) ?? 0);
        }
      },
    });
  }

  /** Binds the gauges to the services' database and broker, once they are open. */
  bind(sources: GaugeSources): void {
    this.#sources = sources;
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
