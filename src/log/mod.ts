/**
 * Logging: LogTape with hierarchical categories (`["harvest", "queue"]`) and structured properties,
 * written to stderr as text, or as JSON lines when `HARVEST_LOG_FORMAT=json`.
 *
 * @module
 */
import { configure, getTextFormatter, jsonLinesFormatter, type LogLevel, type LogRecord } from "@logtape/logtape";

export { getLogger } from "@logtape/logtape";

const LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warning", "error", "fatal"];

/** Configures logging once per process. `level` defaults to `HARVEST_LOG_LEVEL`, else `fallback`. */
export async function setupLogging(
  options: { level?: string; format?: string; fallback?: LogLevel } = {},
): Promise<void> {
  const wanted = (options.level ?? "").toLowerCase();
  const level = (LEVELS as readonly string[]).includes(wanted) ? wanted as LogLevel : options.fallback ?? "info";
  const format = options.format === "json" ? jsonLinesFormatter : getTextFormatter({ timestamp: "date-time" });
  const encoder = new TextEncoder();
  await configure({
    reset: true,
    sinks: {
      stderr: (record: LogRecord) => {
        Deno.stderr.writeSync(encoder.encode(format(record)));
      },
    },
    loggers: [
      { category: ["harvest"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}
