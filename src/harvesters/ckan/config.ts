import { ValidationError } from "../../errors/mod.ts";

/** The CKAN harvester's source config, after validation. */
export interface CkanConfig {
  api_version?: number;
  api_key?: string;
  user_agent?: string;
  default_tags?: { name: string }[];
  default_groups?: string[];
  default_extras?: Record<string, unknown>;
  override_extras?: boolean;
  user?: string;
  read_only?: boolean;
  force_all?: boolean;
  remote_groups?: "only_local" | "create";
  remote_orgs?: "only_local" | "create";
  clean_tags?: boolean;
  organizations_filter_include?: string[];
  organizations_filter_exclude?: string[];
  groups_filter_include?: string[];
  groups_filter_exclude?: string[];
  rows?: number;
  delete_missing?: boolean;
  delete_threshold?: number;
  [key: string]: unknown;
}

function fail(message: string): never {
  throw ValidationError.of("config", message);
}

/**
 * Checks a CKAN source config with the original's messages (reference §5.1). Returns the parsed
 * config; the stored string is left as the operator wrote it.
 */
export function parseCkanConfig(text: string): CkanConfig {
  if (!text.trim()) return {};
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    fail(`Not valid JSON: ${(error as Error).message}`);
  }
  if (!config || typeof config !== "object" || Array.isArray(config)) {
    fail("The configuration must be a JSON object");
  }
  const c = config as Record<string, unknown>;
  if ("api_version" in c && !Number.isInteger(Number(c.api_version))) fail("api_version must be an integer");
  if ("default_tags" in c) {
    if (!Array.isArray(c.default_tags)) fail("default_tags must be a list");
    if (c.default_tags.length > 0 && (typeof c.default_tags[0] !== "object" || c.default_tags[0] === null)) {
      fail("default_tags must be a list of dictionaries");
    }
  }
  if ("default_groups" in c) {
    if (!Array.isArray(c.default_groups)) fail("default_groups must be a *list* of group names/ids");
    if (c.default_groups.length > 0 && typeof c.default_groups[0] !== "string") {
      fail("default_groups must be a list of group names/ids (i.e. strings)");
    }
  }
  if ("default_extras" in c && (typeof c.default_extras !== "object" || Array.isArray(c.default_extras))) {
    fail("default_extras must be a dictionary");
  }
  for (
    const [a, b] of [
      ["organizations_filter_include", "organizations_filter_exclude"],
      ["groups_filter_include", "groups_filter_exclude"],
    ] as const
  ) {
    if (a in c && b in c) fail(`Harvest configuration cannot contain both ${a} and ${b}`);
    for (const key of [a, b]) {
      if (key in c && (!Array.isArray(c[key]) || !(c[key] as unknown[]).every((v) => typeof v === "string"))) {
        fail(`${key} must be a list of strings`);
      }
    }
  }
  if (
    "delete_threshold" in c &&
    (typeof c.delete_threshold !== "number" || c.delete_threshold < 0 || c.delete_threshold > 100)
  ) {
    fail("delete_threshold must be a number of percent from 0 to 100");
  }
  for (const key of ["read_only", "force_all", "override_extras", "clean_tags", "delete_missing"]) {
    if (key in c && typeof c[key] !== "boolean") fail(`${key} must be boolean`);
  }
  for (const key of ["remote_groups", "remote_orgs"]) {
    if (key in c && !["only_local", "create"].includes(c[key] as string)) {
      fail(`${key} must be "only_local" or "create"`);
    }
  }
  for (const key of ["api_key", "user_agent", "user"]) {
    if (key in c && typeof c[key] !== "string") fail(`${key} must be a string`);
  }
  if ("rows" in c && (!Number.isInteger(c.rows) || (c.rows as number) < 1 || (c.rows as number) > 1000)) {
    fail("rows must be an integer from 1 to 1000");
  }
  return c as CkanConfig;
}
