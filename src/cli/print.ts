/**
 * How the CLI prints sources and jobs, and the small parsers of its options.
 *
 * @module
 */
import type { JobDict, SourceDict } from "../actions/shapes.ts";
import { healthReport, serveMetrics } from "../metrics/mod.ts";
import type { Services } from "../services_type.ts";
import { CliError, note, out } from "./context.ts";

export function printJson(value: unknown) {
  out(JSON.stringify(value, null, 2));
}

export function printSource(s: SourceDict) {
  const status = s.status;
  out(`Source id: ${s.id}`);
  out(`     name: ${s.name}`);
  if (s.title) out(`    title: ${s.title}`);
  out(`      url: ${s.url}`);
  out(`     type: ${s.source_type}`);
  out(`   active: ${s.active}`);
  out(`frequency: ${s.frequency}`);
  out(`     jobs: ${status.job_count}`);
  out(` datasets: ${status.total_datasets}`);
}

export function printJob(j: JobDict) {
  const st = j.stats;
  out(
    `Job ${j.id}  ${String(j.status).padEnd(8)}  created ${j.created}  finished ${j.finished ?? "-"}  ` +
      `added ${st.added}, updated ${st.updated}, not modified ${st["not modified"]}, deleted ${st.deleted}, ` +
      `errored ${st.errored}`,
  );
}

export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    throw new CliError(`--metrics-port: must be a port number 0-65535, not ${value}`);
  }
  return Number(value);
}

export function metricsServer(services: Services, port: number | undefined) {
  if (port === undefined) return undefined;
  const server = serveMetrics(services, port, () => healthReport(services, false));
  note(`metrics on http://${services.config.host}:${server.addr.port}/metrics`);
  return server;
}
