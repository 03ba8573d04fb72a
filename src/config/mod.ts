/**
 * Configuration: an optional ini file (`[app:main]` section, the original's key names) overlaid by
 * environment variables, written the ckanext-envvars way (`CKAN__HARVEST__MQ__TYPE` sets
 * `ckan.harvest.mq.type`). Every value is validated; the first invalid one stops start-up with one
 * line that names the key, the value and what is allowed.
 *
 * @module
 */
import { parse as parseIni } from "ini";
import type { z } from "zod";
import { CONFIG_KEYS, type ConfigKey, ENV_SETTINGS } from "./keys.ts";

export { CONFIG_KEYS, ENV_SETTINGS };
export type { ConfigKey };

type Values = { [K in ConfigKey]: z.output<(typeof CONFIG_KEYS)[K]["schema"]> } & { "ckan.site_url": string };

/** The validated configuration of one process. */
export interface Config {
  values: Values;
  /** PostgreSQL URL, or undefined for the embedded database. */
  databaseUrl: string | undefined;
  dataDir: string;
  port: number;
  host: string;
  /** The file the values came from, if any. */
  file: string | undefined;
}

/** A configuration problem, already phrased for the operator. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Converts an environment variable name to the ini key it sets, or undefined when it sets none. */
export function envNameToKey(name: string): string | undefined {
  if (!name.includes("__")) return undefined;
  return name.toLowerCase().replaceAll("__", ".");
}

function describeAllowed(schema: z.ZodType, issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_value") {
    return `expected one of ${issue.values.map(String).join(", ")}`;
  }
  if (issue.code === "too_small") return `expected a value of at least ${issue.minimum}`;
  if (issue.code === "too_big") return `expected a value of at most ${issue.maximum}`;
  if (issue.code === "invalid_type") return `expected ${issue.expected}`;
  if (issue.code === "invalid_format") return `expected a valid ${issue.format}`;
  if (issue.code === "invalid_union") {
    const first = issue.errors.flat()[0];
    return first ? describeAllowed(schema, first) : "an allowed value";
  }
  return issue.message;
}

/** Reads the `[app:main]` section (or top-level keys) of an ini file. */
export function readIniFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${path}: ${(error as Error).message}`);
  }
  const parsed = parseIni(text) as Record<string, unknown>;
  const section = (parsed["app:main"] ?? {}) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const source of [parsed, section]) {
    for (const [key, value] of Object.entries(source)) {
      if (typeof value === "string" || typeof value === "boolean" || typeof value === "number") {
        out[key] = String(value);
      }
    }
  }
  return out;
}

/**
 * Loads and validates the configuration.
 *
 * @example
 * ```ts
 * const config = loadConfig({ file: "harvest.ini", env: Deno.env.toObject() });
 * config.values["ckan.harvest.mq.type"]; // "postgres"
 * ```
 */
export function loadConfig(
  options: { file?: string; env?: Record<string, string>; overrides?: Record<string, string> } = {},
): Config {
  const env = options.env ?? {};
  const file = options.file ?? env.HARVEST_CONFIG;
  const raw: Record<string, string> = file ? readIniFile(file) : {};
  for (const [name, value] of Object.entries(env)) {
    const key = envNameToKey(name);
    if (key) raw[key] = value;
  }
  Object.assign(raw, options.overrides ?? {});

  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
    const given = raw[key];
    const input = given ?? spec.default;
    const result = (spec.schema as z.ZodType).safeParse(input);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const shown = "secret" in spec && spec.secret ? "(hidden)" : JSON.stringify(given);
      throw new ConfigError(
        `Invalid configuration: ${key} = ${shown}: ${describeAllowed(spec.schema as z.ZodType, issue)}`,
      );
    }
    values[key] = result.data;
  }

  const port = env.PORT ?? "5000";
  if (!/^\d+$/.test(port) || Number(port) > 65535) {
    throw new ConfigError(`Invalid configuration: PORT = ${JSON.stringify(port)}: expected a port number 0-65535`);
  }
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      `Invalid configuration: DATABASE_URL = (hidden): expected a postgres:// or postgresql:// URL`,
    );
  }
  if (values["ckan.harvest.catalog.type"] === "ckan" && !values["ckan.harvest.catalog.url"]) {
    throw new ConfigError(
      "Invalid configuration: ckan.harvest.catalog.url is unset: required when ckan.harvest.catalog.type = ckan",
    );
  }
  const host = env.HOST || "127.0.0.1";
  values["ckan.site_url"] ??= `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  return {
    values: values as Values,
    databaseUrl,
    dataDir: env.HARVEST_DATA_DIR || "./.harvest",
    port: Number(port),
    host,
    file,
  };
}
