import type { Queryable } from "../db/mod.ts";

const MAX = 100;
const MIN = 2;

function asciiFold(text: string): string {
  return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
}

function padOrCut(name: string): string {
  if (name.length < MIN) return name.padEnd(MIN, "_");
  return name.slice(0, MAX);
}

/** A name munging leaves as it is: lowercase ASCII, digits, `_` and single inner `-`, short enough not to be cut. */
const CLEAN_NAME = /^[a-z0-9_](?:[a-z0-9_]|-(?=[a-z0-9_]))+$/;

/** CKAN's munge_title_to_name: a URL-safe dataset name from a title. */
export function mungeTitleToName(title: string): string {
  // Most harvested records already carry a clean name: skip the Unicode folding.
  if (title.length <= MAX - 5 && CLEAN_NAME.test(title)) return title;
  let name = asciiFold(title).replace(/[ .:/]/g, "-").toLowerCase().replace(/[^a-z0-9_-]/g, "")
    .replace(/-+/g, "-").replace(/^-+|-+$/g, "");
  if (name.length > MAX - 5) {
    // Keep a trailing year ("-2015" or "-2014-15") when cutting, since it often tells datasets apart.
    const year = name.match(/-\d{4}(?:-\d{2})?$/)?.[0] ?? "";
    name = name.slice(0, MAX - 5 - year.length) + year;
  }
  return padOrCut(name).replace(/-+/g, "-");
}

/** CKAN's munge_tag: what remains of a tag after cleaning (`clean_tags`). */
export function mungeTag(tag: string): string {
  const cleaned = asciiFold(tag).toLowerCase().trim().replace(/[^a-z0-9\- ]/g, "").replace(/ /g, "-");
  return cleaned.length === 0 ? "" : padOrCut(cleaned);
}

/**
 * Makes `ideal` unique among every package name (deleted ones count as taken), as ckanext-harvest's
 * `_ensure_name_is_unique`: the name itself, else `name1`..`name999`, or a 5-character hex suffix.
 * Returns undefined when the number sequence is exhausted.
 */
export async function ensureNameIsUnique(
  sql: Queryable,
  ideal: string,
  options: { existingName?: string; append: "number-sequence" | "random-hex" },
): Promise<string | undefined> {
  ideal = ideal.slice(0, MAX);
  if (ideal === options.existingName) return ideal;
  const k = options.append === "number-sequence" ? 3 : 5;
  const prefix = ideal.slice(0, MAX - k);
  // A range on the pattern index (names are ASCII and "~" sorts after every name character).
  const rows = await sql<{ name: string }[]>`
    SELECT name FROM package WHERE name ~>=~ ${prefix} AND name ~<~ ${prefix + "~"}`;
  const taken = new Set(rows.map((r) => r.name));
  if (options.existingName) taken.delete(options.existingName);
  if (!taken.has(ideal)) return ideal;
  if (options.existingName?.startsWith(ideal)) return options.existingName;
  if (options.append === "random-hex") {
    for (;;) {
      const candidate = ideal.slice(0, MAX - 5) + crypto.randomUUID().replace(/-/g, "").slice(0, 5);
      if (!taken.has(candidate)) return candidate;
    }
  }
  for (let n = 1; n <= 999; n++) {
    const suffix = String(n);
    const candidate = ideal.slice(0, MAX - suffix.length) + suffix;
    if (!taken.has(candidate)) return candidate;
  }
  return undefined;
}

/** CKAN's name rule for datasets, groups and organizations. */
export const NAME_PATTERN = /^[a-z0-9_-]{2,100}$/;
