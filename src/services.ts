import type { Config } from "./config/mod.ts";
import { openDatabase } from "./db/mod.ts";
import { HarvesterRegistry } from "./harvest/registry.ts";
import { HttpClient, UrlGuard } from "./http/mod.ts";
import type { Services } from "./services_type.ts";
import { ckanHarvester } from "./harvesters/ckan/mod.ts";
import { dcatJsonHarvester, dcatRdfHarvester } from "./harvesters/dcat/mod.ts";
import { cswHarvester, singleDocHarvester, wafHarvester } from "./harvesters/iso/mod.ts";
import { openQueue } from "./queue/mod.ts";
import { CkanTarget } from "./catalog/target.ts";
import { sendStatusMails } from "./mail/mod.ts";
import { attachDatabaseLog } from "./log/mod.ts";
import { loadPlugins } from "./plugins/mod.ts";
import { MetricsRegistry } from "./metrics/registry.ts";
import { HostSlots } from "./db/host_slots.ts";

export type { Hooks, Services } from "./services_type.ts";

/** The built-in harvesters. */
export function builtinHarvesters(): HarvesterRegistry {
  const registry = new HarvesterRegistry();
  registry.register(ckanHarvester());
  registry.register(dcatRdfHarvester());
  registry.register(dcatJsonHarvester());
  registry.register(cswHarvester());
  registry.register(wafHarvester());
  registry.register(singleDocHarvester());
  return registry;
}

/** Opens the database and builds the harvester registry for one process. */
export async function openServices(config: Config, options: { maxConnections?: number } = {}): Promise<Services> {
  const db = await openDatabase(config, { max: options.maxConnections });
  const v = config.values;
  const guard = new UrlGuard({
    allowPrivate: v["ckan.harvest.allow_private_urls"],
    allowedHosts: v["ckan.harvest.allowed_hosts"],
  });
  // The catalog target is the operator's own setting, not user input: its host is always allowed.
  if (v["ckan.harvest.catalog.url"]) guard.allow(new URL(v["ckan.harvest.catalog.url"]).hostname);
  const metrics = new MetricsRegistry();
  const http = new HttpClient({
    guard,
    userAgent: v["ckan.harvest.http.user_agent"],
    timeoutMs: v["ckan.harvest.http.timeout"] * 1000,
    maxBytes: v["ckan.harvest.http.max_response_mb"] * 1024 * 1024,
    perHostConcurrency: v["ckan.harvest.http.per_host_concurrency"],
    // Shared through PostgreSQL. Not on the embedded database: its one session is held by a transaction
    // for as long as it runs, and an import that fetches (a remote group) would wait on itself.
    hostLimit: db.mode === "postgres" ? new HostSlots(db.sql) : undefined,
    observer: {
      request: (labels, seconds) => metrics.remoteLatency.observe(labels, seconds),
      error: (labels) => metrics.remoteErrors.inc(labels),
    },
  });
  const harvesters = builtinHarvesters();
  let plugins;
  try {
    plugins = await loadPlugins(v["ckan.harvest.plugins"], harvesters);
  } catch (error) {
    await db.close();
    throw error;
  }
  const queue = await openQueue(config, db.sql);
  metrics.bind({ sql: db.sql, queue });
  const flushLog = await attachDatabaseLog(db.sql, v["ckan.harvest.log_scope"], v["ckan.harvest.log_level"]);
  const close = async () => {
    await flushLog();
    await queue.close();
    await http.close();
    await db.close();
  };
  return {
    config,
    db,
    sql: db.sql,
    harvesters,
    hooks: { recipients: plugins.recipients, jobFinished: [(s, jobId) => sendStatusMails(s, jobId).then(() => {})] },
    work: { analyze: { writes: 0, every: 1000 } },
    metrics,
    http,
    queue,
    target: v["ckan.harvest.catalog.type"] === "ckan"
      ? new CkanTarget(http, v["ckan.harvest.catalog.url"]!, v["ckan.harvest.catalog.api_token"])
      : undefined,
    close,
    [Symbol.asyncDispose]: close,
  };
}
