/**
 * The HTTP server: the CKAN-style action API, the web UI and health checks. Applies pending
 * migrations at start-up; on the embedded database it also runs the consumers and the scheduler
 * (all-in-one) unless told not to; stops within a few seconds of SIGINT/SIGTERM.
 */
import { Command } from "@commander-js/extra-typings";
import { ConfigError, loadConfig } from "./src/config/mod.ts";
import { setupLogging } from "./src/log/mod.ts";
import { openServices } from "./src/services.ts";
import { migrate } from "./src/db/mod.ts";
import { startServer } from "./src/api/serve.ts";
import { describeError, settleWithin, shutdownSignal } from "./src/cli/context.ts";
import { allInOneWanted, runAllInOne } from "./src/harvest/all_in_one.ts";

const opts = new Command("serve")
  .option("-c, --config <file>", "ini config file")
  .option("--no-workers", "do not run the consumers and the scheduler in this process (ckan.harvest.all_in_one)")
  .parse(Deno.args, { from: "user" }).opts();

try {
  const config = loadConfig({ file: opts.config, env: Deno.env.toObject() });
  await setupLogging({ level: Deno.env.get("HARVEST_LOG_LEVEL"), format: Deno.env.get("HARVEST_LOG_FORMAT") });
  const signal = shutdownSignal();
  const services = await openServices(config);
  const applied = await migrate(services.sql);
  const server = startServer(services, { port: config.port, host: config.host });
  const allInOne = allInOneWanted(config, opts.workers);
  console.log(`Harvest service on ${server.url} (${services.db.description})`);
  if (applied.length) console.log(`Applied migrations: ${applied.join(", ")}`);
  console.log(
    allInOne
      ? "Workers: the gather and fetch consumers and the scheduler run in this process (all-in-one)"
      : "Workers: none in this process; run `harvester worker` and `harvester scheduler` beside it",
  );
  const background = allInOne ? runAllInOne(services, signal) : Promise.resolve();
  await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  // Each step is bounded so the whole stop fits the grace period: work still in hand after 3 s is left
  // unacknowledged (its lease runs out and it is delivered again), never half-written.
  await settleWithin(server.shutdown(), 1500);
  await settleWithin(background, 3000);
  await settleWithin(services.close(), 3000);
  Deno.exit(0);
} catch (error) {
  console.error(`Error: ${error instanceof ConfigError ? error.message : describeError(error)}`);
  Deno.exit(1);
}
