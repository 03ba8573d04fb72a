/**
 * Prometheus metrics (prom-client). Figures the database holds (jobs, objects, queue depth, import
 * rate, consumer liveness) are read when scraped, so any process's `/metrics` shows the whole
 * cluster; remote request latency and errors are this process's own, so scrape every worker too
 * (`--metrics-port`).
 *
 * @module
 */
import client from "prom-client";
import type { Services } from "../services_type.ts";
import { pendingMigrations, type Queryable } from "../db/mod.ts";

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: "harvest_process_" });

/** Remote requests by source (the harvest source name, or "-" outside a harvest) and host. */
export const remoteLatency = new client.Histogram({
  name: "harvest_remote_request_duration_seconds",
  help: "Duration of requests to remote catalogs",
  labelNames: ["source", "host"] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

export const remoteErrors = new client.Counter({
  name: "harvest_remote_request_errors_total",
  help: "Failed requests to remote catalogs (network errors, timeouts, HTTP errors, refused addresses)",
  labelNames: ["source", "host", "kind"] as const,
  registers: [registry],
});

/** The services the gauges read at scrape time: the ones of the latest `metricsText` call. */
let scraped: Services | undefined;

/** Adds the gauges read from the database (once per process; they read `scraped` when collected). */
function registerDatabaseGauges(): void {
  if (registry.getSingleMetric("harvest_jobs")) return;
  new client.Gauge({
    name: "harvest_jobs",
    help: "Harvest jobs by status",
    labelNames: ["status"] as const,
    registers: [registry],
    async collect() {
      const rows = await scraped!.sql<{ status: string; n: number }[]>`
        SELECT status, count(*)::int AS n FROM harvest_job GROUP BY status`;
      for (const s of ["New", "Running", "Finished", "Aborted"]) {
        this.set({ status: s }, rows.find((r) => r.status === s)?.n ?? 0);
      }
    },
  });
  new client.Gauge({
    name: "harvest_objects",
    help: "Objects of unfinished (New or Running) jobs by state",
    labelNames: ["state"] as const,
    registers: [registry],
    async collect() {
      const rows = await scraped!.sql<{ state: string; n: number }[]>`
        SELECT o.state, count(*)::int AS n FROM harvest_object o
        JOIN harvest_job j ON j.id = o.harvest_job_id WHERE j.status IN ('New', 'Running') GROUP BY o.state`;
      for (const s of ["WAITING", "FETCH", "IMPORT", "COMPLETE", "ERROR"]) {
        this.set({ state: s }, rows.find((r) => r.state === s)?.n ?? 0);
      }
    },
  });
  new client.Gauge({
    name: "harvest_queue_depth",
    help: "Messages waiting on each queue",
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      for (const q of ["gather", "fetch"] as const) this.set({ queue: q }, await scraped!.queue.depth(q));
    },
  });
  new client.Gauge({
    name: "harvest_imported_datasets_per_second",
    help: "Objects imported per second over the last minute, all processes",
    registers: [registry],
    async collect() {
      const [row] = await scraped!.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM harvest_object o JOIN harvest_job j ON j.id = o.harvest_job_id
        WHERE (j.status = 'Running' OR j.finished > now() - interval '60 seconds')
          AND o.import_finished > now() - interval '60 seconds'`;
      this.set((row?.n ?? 0) / 60);
    },
  });
  new client.Gauge({
    name: "harvest_consumer_last_seen_seconds",
    help: "Seconds since each long-running process (worker, consumer, scheduler) last reported alive",
    labelNames: ["consumer", "kind"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await scraped!.sql<{ id: string; kind: string; age: number }[]>`
        SELECT id, kind, extract(epoch FROM now() - last_seen)::float8 AS age FROM harvest_consumer
        WHERE last_seen > now() - interval '1 day'`;
      for (const r of rows) this.set({ consumer: r.id, kind: r.kind }, r.age);
    },
  });
  new client.Gauge({
    name: "harvest_consumers_alive",
    help: "Long-running processes seen in the last minute, by kind",
    labelNames: ["kind"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await scraped!.sql<{ kind: string; n: number }[]>`
        SELECT kind, count(*)::int AS n FROM harvest_consumer WHERE last_seen > now() - interval '60 seconds'
        GROUP BY kind`;
      for (const k of ["worker", "gather-consumer", "fetch-consumer", "scheduler"]) {
        this.set({ kind: k }, rows.find((r) => r.kind === k)?.n ?? 0);
      }
    },
  });
}

/** The metrics text, and its content type. */
export async function metricsText(services: Services): Promise<{ body: string; contentType: string }> {
  scraped = services;
  registerDatabaseGauges();
  return { body: await registry.metrics(), contentType: registry.contentType };
}

/**
 * Reports this long-running process alive every 15 s until the signal aborts, then removes its row.
 */
export async function heartbeat(services: Services, kind: string, signal: AbortSignal): Promise<void> {
  const id = `${Deno.hostname()}:${Deno.pid}`;
  const beat = async () => {
    try {
      await services.sql`INSERT INTO harvest_consumer (id, kind, host, pid) VALUES (${id}, ${kind}, ${Deno.hostname()},
          ${Deno.pid})
        ON CONFLICT (id) DO UPDATE SET last_seen = now(), kind = excluded.kind`;
    } catch { /* the database is away; the consumers reconnect by themselves and so will this */ }
  };
  await beat();
  while (!signal.aborted) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 15_000);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
    if (!signal.aborted) await beat();
  }
  await services.sql`DELETE FROM harvest_consumer WHERE id = ${id}`.catch(() => {});
}

/**
 * A small HTTP server for a worker or scheduler: `/metrics` and `/healthz`, on `port` (0 = any free
 * port) at the configured HOST.
 */
export function serveMetrics(
  services: Services,
  port: number,
  health: () => Promise<Record<string, string>>,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ port, hostname: services.config.host, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/metrics") {
      try {
        const { body, contentType } = await metricsText(services);
        return new Response(body, { headers: { "Content-Type": contentType } });
      } catch {
        return new Response("# metrics unavailable\n", { status: 503 });
      }
    }
    if (path === "/healthz") {
      const report = await health();
      return Response.json(report, { status: report.status === "ok" ? 200 : 503 });
    }
    return new Response("Not found\n", { status: 404 });
  });
}

/**
 * Liveness and readiness: the database and the broker answer (and, for readiness, the schema is up
 * to date). Each failing part is named, without connection details.
 */
/** Heartbeat kinds that consume the queues (a scheduler alone moves no job forward). */
export const CONSUMER_KINDS = ["gather-consumer", "fetch-consumer", "worker", "all-in-one"];

/**
 * A plain sentence when jobs wait (New or Running) and no queue consumer has reported alive in the
 * last 60 s, so nothing will move them; undefined when all is well.
 */
export async function stalledWork(sql: Queryable, sourceId?: string): Promise<string | undefined> {
  const [row] = await sql<{ waiting: number; alive: number }[]>`
    SELECT
      (SELECT count(*)::int FROM harvest_job WHERE status IN ('New', 'Running')
        AND (${sourceId ?? null}::text IS NULL OR source_id = ${sourceId ?? null})) AS waiting,
      (SELECT count(*)::int FROM harvest_consumer
        WHERE last_seen > now() - interval '60 seconds' AND kind = ANY(${CONSUMER_KINDS})) AS alive`;
  if (!row || row.waiting === 0 || row.alive > 0) return undefined;
  return `${row.waiting} job(s) queued or running, but no worker is alive to process them: start ` +
    "`harvester worker` (or `serve` with all-in-one on)";
}

export async function healthReport(services: Services, ready: boolean): Promise<Record<string, string>> {
  const report: Record<string, string> = { status: "ok" };
  const check = async (name: string, fn: () => Promise<unknown>) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        fn(),
        new Promise((_, reject) => timer = setTimeout(() => reject(new Error("timeout")), 5000)),
      ]);
      report[name] = "ok";
    } catch {
      report[name] = "unreachable";
      report.status = "error";
    } finally {
      clearTimeout(timer);
    }
  };
  await check("database", () => services.sql`SELECT 1`);
  await check("queue", () => services.queue.depth("gather"));
  if (ready && report.database === "ok") {
    const pending = await pendingMigrations(services.sql).catch(() => ["?"]);
    report.schema = pending.length === 0 ? "ok" : `${pending.length} migration(s) pending`;
    if (pending.length > 0) report.status = "error";
    // Said, not failed: the API itself is ready, and a load balancer should keep sending it requests.
    const stalled = await stalledWork(services.sql).catch(() => undefined);
    report.workers = stalled ?? "ok";
  }
  return report;
}
