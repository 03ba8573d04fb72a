/**
 * Logging: LogTape with hierarchical categories (`["harvest", "queue"]`) and structured properties,
 * written to stderr as text, or as JSON lines when `HARVEST_LOG_FORMAT=json`; and, when
 * `ckan.harvest.log_scope` is not -1, the categories it names also go to the `harvest_log` table.
 *
 * @module
 */
import {
  configure,
  getTextFormatter,
  jsonLinesFormatter,
  type LoggerConfig,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";
import type { Queryable } from "../db/mod.ts";

export { getLogger } from "@logtape/logtape";

const LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warning", "error", "fatal"];

interface StderrOptions {
  level: LogLevel;
  format: "json" | "text";
}

let stderrOptions: StderrOptions = { level: "info", format: "text" };

/** Configures logging once per process. `level` defaults to `HARVEST_LOG_LEVEL`, else `fallback`. */
export async function setupLogging(
  options: { level?: string; format?: string; fallback?: LogLevel } = {},
): Promise<void> {
  const wanted = (options.level ?? "").toLowerCase();
  const level = (LEVELS as readonly string[]).includes(wanted) ? wanted as LogLevel : options.fallback ?? "info";
  stderrOptions = { level, format: options.format === "json" ? "json" : "text" };
  await apply(undefined);
}

/** The categories each `ckan.harvest.log_scope` sends to the database log (reference §9, mapped). */
export const LOG_SCOPES: Record<number, string[][]> = {
  0: [["harvest"]],
  1: [["harvest", "pipeline"], ["harvest", "tick"], ["harvest", "api"], ["harvest", "actions"], [
    "harvest",
    "harvester",
  ]],
  2: [["harvest", "pipeline"], ["harvest", "tick"], ["harvest", "consumer"], ["harvest", "api"], [
    "harvest",
    "actions",
  ]],
  3: [["harvest", "pipeline"], ["harvest", "tick"], ["harvest", "api"], ["harvest", "actions"]],
  4: [["harvest", "api"], ["harvest", "actions"]],
  5: [["harvest", "pipeline"], ["harvest", "tick"]],
  6: [["harvest", "plugins"]],
  7: [["harvest", "harvester"]],
};

const DB_LEVEL: Record<string, LogLevel> = {
  debug: "debug",
  info: "info",
  warning: "warning",
  error: "error",
  critical: "fatal",
};
const DB_NAME: Record<LogLevel, string> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

/** Rows waiting to be written; the sink is synchronous, so writes happen in the background, in batches. */
class DatabaseLog {
  #pending: { content: string; level: string; created: Date }[] = [];
  #flushing: Promise<void> | undefined;

  constructor(private sql: Queryable) {}

  sink = (record: LogRecord): void => {
    if (this.#pending.length >= 10_000) return; // a database that cannot keep up loses log lines, not memory
    this.#pending.push({
      content: `${record.category.join(".")}: ${
        record.message.map((part, i) => i % 2 === 0 || typeof part === "string" ? part : JSON.stringify(part)).join("")
      }`,
      level: DB_NAME[record.level],
      created: new Date(record.timestamp),
    });
    this.#flushing ??= new Promise<void>((r) => setTimeout(r, 50)).then(() => this.flush());
  };

  /** Writes what is pending; failures are dropped (a log write must never break the work it describes). */
  async flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, 500);
      try {
        await this.sql`INSERT INTO harvest_log ${
          this.sql(batch as unknown as Record<string, unknown>[], "content", "level", "created")
        }`;
      } catch { /* swallowed, as the original's DBLogHandler does */ }
    }
    this.#flushing = undefined;
  }
}

async function apply(db: { log: DatabaseLog; scope: number; level: LogLevel } | undefined): Promise<void> {
  const { level, format } = stderrOptions;
  const formatter = format === "json" ? jsonLinesFormatter : getTextFormatter({ timestamp: "date-time" });
  const encoder = new TextEncoder();
  const loggers: LoggerConfig<string, string>[] = [
    { category: ["harvest"], lowestLevel: level, sinks: ["stderr"] },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
  ];
  if (db) {
    for (const category of LOG_SCOPES[db.scope] ?? []) {
      if (category.length === 1) {
        loggers[0] = { category: ["harvest"], sinks: ["stderr", "database"], lowestLevel: "trace" };
        continue;
      }
      loggers.push({ category, sinks: ["database"], lowestLevel: db.level });
    }
  }
  await configure({
    reset: true,
    sinks: {
      stderr: (record: LogRecord) => {
        if (LEVELS.indexOf(record.level) < LEVELS.indexOf(level)) return;
        Deno.stderr.writeSync(encoder.encode(formatter(record)));
      },
      ...(db
        ? {
          database: (record: LogRecord) => {
            if (LEVELS.indexOf(record.level) >= LEVELS.indexOf(db.level)) db.log.sink(record);
          },
        }
        : {}),
    },
    loggers,
  });
}

/**
 * Sends the categories of `scope` at `level` and above to the `harvest_log` table as well; returns a
 * function that writes what is pending, for shutdown.
 */
export async function attachDatabaseLog(sql: Queryable, scope: number, level: string): Promise<() => Promise<void>> {
  if (scope < 0) return () => Promise.resolve();
  // The sink is LogTape's, and LogTape is configured once per process (one stderr): the last services
  // opened with a database log are the ones it writes to.
  const log = new DatabaseLog(sql);
  await apply({ log, scope, level: DB_LEVEL[level] ?? "debug" });
  return () => log.flush();
}

/** The database log, newest first, optionally of one level. */
export async function listLog(
  sql: Queryable,
  filter: { level: string | null; limit: number; offset: number },
): Promise<{ content: string; level: string; created: Date }[]> {
  return await sql<{ content: string; level: string; created: Date }[]>`
    SELECT content, level, created FROM harvest_log
    WHERE (${filter.level}::text IS NULL OR level = ${filter.level})
    ORDER BY created DESC, id DESC LIMIT ${filter.limit} OFFSET ${filter.offset}`;
}

/** Deletes database log rows older than `days` days; answers how many. */
export async function cleanLog(sql: Queryable, days: number): Promise<number> {
  const rows = await sql`DELETE FROM harvest_log WHERE created <= now() - make_interval(days => ${days}) RETURNING id`;
  return rows.length;
}
