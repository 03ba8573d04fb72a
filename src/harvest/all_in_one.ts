import type { Config } from "../config/mod.ts";
import type { Services } from "../services_type.ts";
import { heartbeat } from "../db/consumers.ts";
import { runConsumers, runScheduler } from "./consumers.ts";
import { recoverDeadProcesses } from "./recovery.ts";

/**
 * Whether `serve` (and the demo) also runs the consumers and the scheduler: `auto` does on the
 * embedded database, where one machine is the whole deployment and a job created in the web UI would
 * otherwise never run; deployments on PostgreSQL run separate workers.
 */
export function allInOneWanted(config: Config, flag?: boolean): boolean {
  if (flag === false) return false;
  const setting = config.values["ckan.harvest.all_in_one"];
  if (setting === "auto") return !config.databaseUrl;
  return setting === "true";
}

/**
 * Runs the gather and fetch consumers and the scheduler inside this process until `signal` aborts,
 * reporting alive as kind `all-in-one` so the dashboard and `/readyz` count it as a worker.
 */
export async function runAllInOne(services: Services, signal: AbortSignal, concurrency = 4): Promise<void> {
  await Promise.all([
    heartbeat(services.sql, "all-in-one", signal, () => recoverDeadProcesses(services).then(() => {})),
    runConsumers(services, { gather: true, fetch: true, concurrency, signal }),
    runScheduler(services, { cron: services.config.values["ckan.harvest.scheduler.cron"], signal }),
  ]);
}
