/**
 * Prometheus metrics (prom-client). Figures the database holds (jobs, objects, queue depth, import
 * rate, consumer liveness) are read when scraped, so any process's `/metrics` shows the whole
 * cluster; remote request latency and errors are this process's own, so scrape every worker too
 * (`--metrics-port`).
 *
 * @module
 */
import type { Services } from "../services_type.ts";
import { pendingMigrations } from "../db/mod.ts";
import { stalledWork } from "../harvest/stalled.ts";

/** The metrics text of these services, and its content type. */
export function metricsText(services: Services): Promise<{ body: string; contentType: string }> {
  return services.metrics.text();
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
