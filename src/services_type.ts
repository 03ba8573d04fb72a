/**
 * The shape of the services one process opens (`openServices` in services.ts builds them). Types only,
 * so that every module that receives the services can name them without importing what opens them.
 *
 * @module
 */
import type { Config } from "./config/mod.ts";
import type { Database, Sql } from "./db/mod.ts";
import type { HarvesterRegistry } from "./harvest/registry.ts";
import type { HttpClient } from "./http/mod.ts";
import type { Queue } from "./queue/mod.ts";
import type { CkanTarget } from "./catalog/target.ts";
import type { SourceRow } from "./harvest/sources.ts";
import type { MetricsRegistry } from "./metrics/registry.ts";

/** Someone a source's status mails go to. */
export interface Recipient {
  name: string;
  email: string;
}

/**
 * A plugin's say in who gets a source's mails: it receives the default list and returns the list to
 * use (add, remove or replace). Hooks run in registration order.
 */
export type RecipientsHook = (source: SourceRow, recipients: Recipient[]) => Recipient[] | Promise<Recipient[]>;

/** Work run after a job finishes normally (status mails, ...); registered on the services when they open. */
export type JobFinishedHook = (services: Services, jobId: string) => Promise<void>;

/** What plugins can add besides harvesters. */
export interface Hooks {
  /** Adjust who gets a source's status mails. */
  recipients: RecipientsHook[];
  /** Run after every job that finishes normally; the status mails subscribe here. */
  jobFinished: JobFinishedHook[];
}

/**
 * State one process keeps for one set of services (never in module globals, so two services in one
 * process, as in tests, never share it).
 */
export interface WorkState {
  /** When the harvest tables' statistics are refreshed next (see `noteWrites` in harvest/process.ts). */
  analyze: { writes: number; every: number };
  /** The fetch consumer's batcher of deliveries into lots, made on the first delivery. */
  fetchBatcher?: { add(objectId: string): Promise<void> };
}

/** Everything an action needs, opened once per process. */
export interface Services extends AsyncDisposable {
  config: Config;
  db: Database;
  sql: Sql;
  harvesters: HarvesterRegistry;
  http: HttpClient;
  queue: Queue;
  hooks: Hooks;
  work: WorkState;
  /** This services' Prometheus registry: remote request figures and the database gauges. */
  metrics: MetricsRegistry;
  /** Where datasets are also written (`ckan.harvest.catalog.type = ckan`), if anywhere. */
  target: CkanTarget | undefined;
  close(): Promise<void>;
}
