/**
 * The HTTP server: the CKAN-style action API and health checks. Applies pending migrations at
 * start-up and shuts down gracefully on SIGINT/SIGTERM.
 */
import { Command } from "@commander-js/extra-typings";
import { ConfigError, loadConfig } from "./src/config/mod.ts";
import { setupLogging } from "./src/log/mod.ts";
import { openServices } from "./src/services.ts";
import { migrate } from "./src/db/mod.ts";
import { startServer } from "./src/api/serve.ts";
import { describeError } from "./src/cli/context.ts";

const opts = new Command("serve")
  .option("-c, --config <file>", "ini config file")
  .parse(Deno.args, { from: "user" }).opts();

try {
  const config = loadConfig({ file: opts.config, env: Deno.env.toObject() });
  await setupLogging({ level: Deno.env.get("HARVEST_LOG_LEVEL"), format: Deno.env.get("HARVEST_LOG_FORMAT") });
  const services = await openServices(config);
  const applied = await migrate(services.sql);
  const server = startServer(services, { port: config.port, host: config.host });
  console.log(`Harvest service on ${server.url} (${services.db.description})`);
  if (applied.length) console.log(`Applied migrations: ${applied.join(", ")}`);
  const stop = async () => {
    await server.shutdown();
    await services.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
} catch (error) {
  console.error(`Error: ${error instanceof ConfigError ? error.message : describeError(error)}`);
  Deno.exit(1);
}
