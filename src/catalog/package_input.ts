/**
 * A dataset as harvesters and the package actions hand it in: CKAN's package dict, leniently read.
 *
 * Written out rather than declared with zod: a harvest reads every dataset it imports through it, and
 * the zod schema it replaces cost a cold harvest's process a quarter of its CPU (its parse and the
 * garbage of its copies; 20,000 datasets: 1 s of 4). Unknown keys pass through as they came.
 */

/** What a text field accepts; numbers and booleans become strings. */
type Text = string | number | boolean | null | undefined;

export interface TagInput {
  name: string;
  vocabulary_id?: string | null;
  [key: string]: unknown;
}

/** A dataset's group as given: its id or its name (any other key is kept). */
export interface GroupInput {
  id?: string | null;
  name?: string | null;
  [key: string]: unknown;
}

export interface ResourceInput {
  id?: string | null;
  url?: Text;
  name?: Text;
  description?: Text;
  format?: Text;
  mimetype?: Text;
  /** Bytes, as a number or a string of digits. */
  size?: number | string | null;
  hash?: Text;
  created?: Text;
  last_modified?: Text;
  [key: string]: unknown;
}

const TEXT_FIELDS = [
  "title",
  "notes",
  "url",
  "version",
  "author",
  "author_email",
  "maintainer",
  "maintainer_email",
  "license_id",
] as const;

const RESOURCE_TEXT_FIELDS = ["url", "name", "description", "format", "mimetype"] as const;
const RESOURCE_TEXT_AFTER_SIZE = ["hash", "created", "last_modified"] as const;
/** The keys a resource is read for; any other key passes through. */
export const RESOURCE_FIELDS: readonly string[] = ["id", ...RESOURCE_TEXT_FIELDS, "size", ...RESOURCE_TEXT_AFTER_SIZE];

/** A tag as read: its name and vocabulary. */
export interface Tag {
  name: string;
  vocabulary_id: string | null;
}

type TextFields = { [K in typeof TEXT_FIELDS[number]]?: Text };

export interface PackageInput extends TextFields {
  id?: string | null;
  name?: string | null;
  owner_org?: string | null;
  private?: boolean | "true" | "false" | "True" | "False" | null;
  state?: "active" | "deleted" | "draft" | null;
  type?: string | null;
  /** Tag names, or CKAN's tag dicts. */
  tags?: (string | TagInput)[] | null;
  /** Group names, or dicts with an id or a name. */
  groups?: (string | GroupInput)[] | null;
  /** CKAN's `[{key, value}]`, or an object of key and value; values that are not strings are stored as JSON. */
  extras?: { key: string; value: unknown }[] | Record<string, unknown> | null;
  resources?: ResourceInput[] | null;
  [key: string]: unknown;
}

export interface ResourceParsed {
  id?: string | null;
  url: string | null;
  name: string | null;
  description: string | null;
  format: string | null;
  mimetype: string | null;
  size: number | null;
  hash: string | null;
  created: string | null;
  last_modified: string | null;
  [key: string]: unknown;
}

export interface PackageParsed {
  id?: string | null;
  name?: string | null;
  title: string | null;
  notes: string | null;
  url: string | null;
  version: string | null;
  author: string | null;
  author_email: string | null;
  maintainer: string | null;
  maintainer_email: string | null;
  license_id: string | null;
  owner_org?: string | null;
  private: boolean;
  state?: "active" | "deleted" | "draft" | null;
  type?: string | null;
  tags?: Tag[] | null;
  groups?: GroupInput[] | null;
  extras?: { key: string; value: string }[] | null;
  resources?: ResourceParsed[] | null;
  [key: string]: unknown;
}

/** The fields of a package dict that are not what they should be: each dotted path with its problem. */
export class PackageInputError extends Error {
  override name = "PackageInputError";
  constructor(readonly issues: [field: string, problem: string][]) {
    super(issues.map(([field, problem]) => `${field || "package"}: ${problem}`).join("; "));
  }
}

const PACKAGE_KEYS = new Set<string>([
  "id",
  "name",
  ...TEXT_FIELDS,
  "owner_org",
  "private",
  "state",
  "type",
  "tags",
  "groups",
  "extras",
  "resources",
]);
const RESOURCE_KEYS = new Set(RESOURCE_FIELDS);
const STATES = new Set(["active", "deleted", "draft"]);
const PRIVATE: Record<string, boolean> = { true: true, false: false, True: true, False: false };

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads one dict; `issues` collects what is wrong, with the path of each field. */
class Reader {
  issues: [string, string][] = [];

  fail(path: string, problem: string): undefined {
    this.issues.push([path, problem]);
    return undefined;
  }

  text(v: unknown, path: string): string | null {
    if (v === null || v === undefined) return null;
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    this.fail(path, "expected a string, a number or a boolean");
    return null;
  }

  /** A string field that may be absent or null; `nonEmpty` refuses "". */
  string(v: unknown, path: string, nonEmpty = false): string | null | undefined {
    if (v === null || v === undefined) return v;
    if (typeof v !== "string") return this.fail(path, "expected a string");
    if (nonEmpty && v.length === 0) return this.fail(path, "must not be empty");
    return v;
  }

  list(v: unknown, path: string): unknown[] | null | undefined {
    if (v === null || v === undefined) return v;
    if (!Array.isArray(v)) return this.fail(path, "expected a list");
    return v;
  }

  tag(t: unknown, path: string): Tag | undefined {
    if (typeof t === "string") return { name: t, vocabulary_id: null };
    if (isDict(t) && typeof t.name === "string") {
      const vocabulary = t.vocabulary_id;
      if (vocabulary === null || vocabulary === undefined || typeof vocabulary === "string") {
        return { name: t.name, vocabulary_id: vocabulary ?? null };
      }
    }
    return this.fail(path, "expected a tag name, or an object with a name (and a vocabulary_id string)");
  }

  group(g: unknown, path: string): GroupInput | undefined {
    if (typeof g === "string") return { id: undefined, name: g };
    const ok = (v: unknown) => v === null || v === undefined || typeof v === "string";
    if (isDict(g) && ok(g.id) && ok(g.name)) return { ...g } as GroupInput;
    return this.fail(path, "expected a group name, or an object with an id or a name (strings)");
  }

  extras(v: unknown, path: string): { key: string; value: string }[] | null | undefined {
    if (v === null || v === undefined) return v;
    const value = (x: unknown) => typeof x === "string" ? x : JSON.stringify(x) ?? "";
    if (Array.isArray(v)) {
      const out: { key: string; value: string }[] = [];
      for (let i = 0; i < v.length; i++) {
        const e = v[i];
        const at = `${path}.${i}`;
        if (!isDict(e)) this.fail(at, "expected an object with a key and a value");
        else if (typeof e.key !== "string") {
          this.fail(`${at}.key`, e.key === undefined ? "Missing value" : "expected a string");
        } else if (e.key.length === 0) this.fail(`${at}.key`, "must not be empty");
        else if (!("value" in e)) this.fail(`${at}.value`, "Missing value");
        else out.push({ key: e.key, value: value(e.value) });
      }
      return out;
    }
    if (isDict(v)) return Object.entries(v).map(([key, x]) => ({ key, value: value(x) }));
    return this.fail(path, "expected a list of {key, value} objects, or an object");
  }

  size(v: unknown, path: string): number | null {
    if (v === null || v === undefined) return null;
    if (typeof v === "number" && Number.isFinite(v)) return v;
    if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
    this.fail(path, "expected a number of bytes");
    return null;
  }

  resource(r: unknown, path: string): ResourceParsed | undefined {
    if (!isDict(r)) return this.fail(path, "expected an object");
    const out: Dict = {};
    if ("id" in r) out.id = this.string(r.id, `${path}.id`, true);
    for (const k of RESOURCE_TEXT_FIELDS) out[k] = this.text(r[k], `${path}.${k}`);
    out.size = this.size(r.size, `${path}.size`);
    for (const k of RESOURCE_TEXT_AFTER_SIZE) out[k] = this.text(r[k], `${path}.${k}`);
    for (const k in r) if (!RESOURCE_KEYS.has(k)) out[k] = r[k];
    return out as ResourceParsed;
  }

  items<T>(v: unknown, path: string, item: (x: unknown, at: string) => T | undefined): T[] | null | undefined {
    const list = this.list(v, path);
    if (!list) return list;
    const out: T[] = [];
    for (let i = 0; i < list.length; i++) {
      const x = item(list[i], `${path}.${i}`);
      if (x !== undefined) out.push(x);
    }
    return out;
  }
}

/**
 * A package dict read leniently, as CKAN does: text fields accept numbers and booleans, `private` the
 * strings "true" and "false", tags and groups their names, extras an object, a resource's size a
 * string of digits. Throws a `PackageInputError` naming every field that is wrong.
 */
export function readPackageInput(input: unknown): PackageParsed {
  const read = new Reader();
  if (!isDict(input)) throw new PackageInputError([["", "expected an object"]]);
  const out: Dict = {};
  if ("id" in input) out.id = read.string(input.id, "id", true);
  if ("name" in input) out.name = read.string(input.name, "name");
  for (const k of TEXT_FIELDS) out[k] = read.text(input[k], k);
  if ("owner_org" in input) out.owner_org = read.string(input.owner_org, "owner_org");
  const priv = input.private;
  if (typeof priv === "boolean") out.private = priv;
  else if (priv === null || priv === undefined) out.private = false;
  else if (typeof priv === "string" && priv in PRIVATE) out.private = PRIVATE[priv];
  else read.fail("private", 'expected true or false (or the strings "true" and "false")');
  if ("state" in input) {
    const state = input.state;
    if (state === null || state === undefined || (typeof state === "string" && STATES.has(state))) out.state = state;
    else read.fail("state", 'expected one of "active", "deleted", "draft"');
  }
  if ("type" in input) out.type = read.string(input.type, "type");
  if ("tags" in input) out.tags = read.items(input.tags, "tags", (t, at) => read.tag(t, at));
  if ("groups" in input) out.groups = read.items(input.groups, "groups", (g, at) => read.group(g, at));
  if ("extras" in input) out.extras = read.extras(input.extras, "extras");
  if ("resources" in input) out.resources = read.items(input.resources, "resources", (r, at) => read.resource(r, at));
  for (const k in input) if (!PACKAGE_KEYS.has(k)) out[k] = input[k];
  if (read.issues.length > 0) throw new PackageInputError(read.issues);
  return out as PackageParsed;
}
