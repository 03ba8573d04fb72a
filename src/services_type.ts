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
import type { RecipientsHook } from "./harvest/notify.ts";
import type { JobFinishedHook } from "./harvest/lifecycle.ts";

/** What plugins can add besides harvesters. */
export interface Hooks {
  /** Adjust who gets a source's status mails. */
  recipients: RecipientsHook[];
  /** Run after every job that finishes normally; the status mails subscribe here. */
  jobFinished: JobFinishedHook[];
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
  /** Where datasets are also written (`ckan.harvest.catalog.type = ckan`), if anywhere. */
  target: CkanTarget | undefined;
  close(): Promise<void>;
}
