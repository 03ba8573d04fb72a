/**
 * Storage: postgres.js against a real PostgreSQL (`DATABASE_URL`) or against the embedded PGlite
 * database served on loopback, so the same SQL runs on both.
 *
 * @module
 */
import postgres from "postgres";
import { getLogger } from "@logtape/logtape";
import type { Config } from "../config/mod.ts";
import { UnavailableError } from "../errors/mod.ts";

export { migrate, pendingMigrations } from "./migrate.ts";

export type { Queryable, Sql, Tx } from "./sql.ts";
export { jsonRows } from "./sql.ts";
import type { Sql } from "./sql.ts";

/** An open database, whichever kind. */
export interface Database {
  sql: Sql;
  /** `postgres`, `embedded` (this process holds the files) or `embedded-client` (another does). */
  mode: "postgres" | "embedded" | "embedded-client";
  /** One line saying where the data lives, for operators. */
  description: string;
  close(): Promise<void>;
}

const log = getLogger(["harvest", "db"]);

/** Opens the database the configuration names. */
export async function openDatabase(config: Config, options: { max?: number } = {}): Promise<Database> {
  const connectTimeout = config.values["ckan.harvest.connect_timeout"];
  if (config.databaseUrl) {
    const idle = config.values["ckan.harvest.db.idle_in_transaction_timeout"];
    const sql = postgres(config.databaseUrl, {
      onnotice: () => {},
      connect_timeout: connectTimeout,
      max: options.max ?? 10,
      // Sent at connection start, so they hold for every session of the pool. Keepalive probes after
      // 5 s of silence, every 2 s, 3 unanswered, and at most 10 s for what it sent to be acknowledged:
      // PostgreSQL ends the session of a client whose machine died or was cut off within about 11 s
      // (rolling back its transaction and freeing its locks).
      connection: {
        tcp_keepalives_idle: 5,
        tcp_keepalives_interval: 2,
        tcp_keepalives_count: 3,
        tcp_user_timeout: 10_000,
        ...(idle > 0 ? { idle_in_transaction_session_timeout: idle * 1000 } : {}),
      },
    });
    const url = new URL(config.databaseUrl);
    const where = `${url.hostname}:${url.port || 5432}`;
    // postgres.js keeps retrying a host that does not answer at all (no refusal, no route) behind a
    // query that never settles: one probe, bounded, turns that into one line naming the address.
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        sql`SELECT 1`,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new UnavailableError(`no answer within ${connectTimeout} s`)),
            connectTimeout * 1000,
          );
        }),
      ]);
    } catch (error) {
      await sql.end({ timeout: 0 }).catch(() => {});
      throw new UnavailableError(
        `Cannot reach the database at ${where}: ${(error as Error).message}; check DATABASE_URL ` +
          "(and ckan.harvest.connect_timeout)",
      );
    } finally {
      clearTimeout(timer);
    }
    return {
      sql,
      mode: "postgres",
      description: `PostgreSQL at ${url.hostname}:${url.port || 5432}${url.pathname}`,
      close: () => sql.end({ timeout: 5 }),
    };
  }
  // Loaded only in embedded mode: PGlite is large, and a process on PostgreSQL never needs it.
  const { openEmbedded } = await import("./embedded.ts");
  const embedded = await openEmbedded(config.dataDir, {
    waitMs: connectTimeout * 1000,
    sharedBuffersMb: config.values["ckan.harvest.embedded.shared_buffers"],
  });
  const sql = postgres(embedded.url, {
    onnotice: () => {},
    connect_timeout: connectTimeout,
    max: options.max ?? 4,
  });
  const description = embedded.holder
    ? `embedded database in ${config.dataDir} (served to other processes at ${embedded.address})`
    : `embedded database in ${config.dataDir}, held by process ${embedded.pid}: connected through its socket ${embedded.address}`;
  log.debug("Opened {description}", { description });
  return {
    sql,
    mode: embedded.holder ? "embedded" : "embedded-client",
    description,
    async close() {
      await sql.end({ timeout: 1 });
      await embedded.close();
    },
  };
}

/**
 * True for errors that mean the database is unreachable or went away (not that a statement was
 * wrong): the work should be retried later, not recorded as failed.
 */
export function isConnectionError(error: unknown): boolean {
  const e = error as { code?: string; errno?: string; message?: string };
  const code = String(e?.code ?? e?.errno ?? "");
  if (
    [
      "CONNECTION_CLOSED",
      "CONNECTION_ENDED",
      "CONNECTION_DESTROYED",
      "CONNECT_TIMEOUT",
      "ECONNREFUSED",
      "ECONNRESET",
      "EPIPE",
      "57P01",
      "57P02",
      "57P03",
    ].includes(code)
  ) return true;
  if (code.startsWith("08")) return true;
  return /connection (refused|reset|closed|terminated)|terminating connection|write CONNECTION_CLOSED|broken pipe/i
    .test(String(e?.message ?? ""));
}
