/**
 * `deno task demo`: the whole product on embedded defaults. Serves a sample CKAN catalog on
 * loopback, creates a source for it, harvests it with a progress display, prints the summary and
 * the URLs to look at, and keeps serving until Ctrl-C.
 */
import { loadConfig } from "../config/mod.ts";
import { setupLogging } from "../log/mod.ts";
import { openServices } from "../services.ts";
import { migrate } from "../db/mod.ts";
import { startServer } from "../api/serve.ts";
import { ACTIONS, runAction, SITE_ACTOR } from "../actions/mod.ts";
import { getSource, updateSourceUrl } from "../harvest/sources.ts";
import { runJobInProcess } from "../harvest/run.ts";
import { progressDisplay, summaryLine } from "../cli/progress.ts";
import { describeError, settleWithin, shutdownSignal } from "../cli/context.ts";
import { allInOneWanted, runAllInOne } from "../harvest/all_in_one.ts";
import { sampleCatalog } from "./sample_catalog.ts";
import { serveCkanCatalog } from "./ckan_server.ts";

const SOURCE = "demo-sample-ckan";

export async function demo(): Promise<void> {
  const env = Deno.env.toObject();
  // The sample catalog is served on loopback, which the SSRF guard refuses unless allowed.
  const allowed = `${env.CKAN__HARVEST__ALLOWED_HOSTS ?? ""} 127.0.0.1`.trim();
  const config = loadConfig({ env, overrides: { "ckan.harvest.allowed_hosts": allowed } });
  await setupLogging({ level: env.HARVEST_LOG_LEVEL, fallback: "warning" });
  const signal = shutdownSignal();
  const services = await openServices(config, { maxConnections: 8 });
  const remote = serveCkanCatalog(sampleCatalog());
  const stopAll = async () => {
    await settleWithin(remote.close(), 1000);
    await settleWithin(services.close(), 3000);
  };
  try {
    await migrate(services.sql);
    const server = startServer(services, { port: config.port, host: config.host });
    console.log(`Harvest service: ${server.url}  (${services.db.description})`);
    console.log(`Sample CKAN catalog (${remote.catalog.datasets.length} datasets): ${remote.url}`);
    const ctx = { services, actor: SITE_ACTOR };
    // Jobs started from the web UI (Reharvest) run here too: the demo is the whole deployment.
    const background = allInOneWanted(config) ? runAllInOne(services, signal) : Promise.resolve();
    const existing = await getSource(services.sql, SOURCE).catch(() => undefined);
    if (existing) {
      // The sample server gets a new port each run; the source keeps its identity and datasets.
      await updateSourceUrl(services.sql, existing.id, remote.url);
    } else {
      await runAction(ACTIONS.get("harvest_source_create")!, ctx, {
        name: SOURCE,
        url: remote.url,
        source_type: "ckan",
        title: "Demo: sample CKAN catalog",
        notes: "A bundled sample catalog served on loopback by `deno task demo`.",
        config: JSON.stringify({ remote_orgs: "create", remote_groups: "create" }),
      });
    }
    const source = await getSource(services.sql, SOURCE);
    const display = progressDisplay("Harvesting");
    const summary = await runJobInProcess(ctx, source, { onProgress: (p) => display.update(p), concurrency: 4 });
    display.end();
    console.log(summaryLine(summary));
    for (const e of summary.gatherErrors) console.log(`Gather error: ${e}`);
    console.log("");
    console.log("Look at:");
    console.log(`  ${server.url}/harvest   (the web UI; log in with a user from \`harvester user add\`)`);
    console.log(`  ${server.url}/api/3/action/package_search?rows=5`);
    console.log(`  ${server.url}/api/3/action/package_show?id=<name from the search>`);
    console.log(`  ${server.url}/api/3/action/harvest_source_show?id=${SOURCE}`);
    console.log("Press Ctrl-C to stop.");
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    console.log("Stopping.");
    await settleWithin(server.shutdown(), 1500);
    await settleWithin(background, 3000);
  } finally {
    await stopAll();
  }
}

if (import.meta.main) {
  try {
    await demo();
    Deno.exit(0);
  } catch (error) {
    console.error(`Error: ${describeError(error)}`);
    Deno.exit(1);
  }
}
