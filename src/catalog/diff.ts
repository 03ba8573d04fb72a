/**
 * Field-level differences between two versions of a dataset dict: what a harvest update changed.
 * Scalars by value; tags and groups as sets; extras by key; resources by id (else URL), each with
 * the fields that changed. Values are shortened, so a change record stays small.
 *
 * @module
 */

export interface FieldChange {
  /** `title`, `tags`, `extras.modified`, `resources.<id or url>`, ... */
  field: string;
  before?: unknown;
  after?: unknown;
}

type Dict = Record<string, unknown>;

const SCALARS = [
  "title",
  "name",
  "notes",
  "url",
  "version",
  "license_id",
  "author",
  "author_email",
  "maintainer",
  "maintainer_email",
  "owner_org",
  "private",
  "state",
];
const RESOURCE_FIELDS = ["url", "name", "description", "format", "mimetype", "size", "hash"];
/** Extras the harvest itself writes: never a change of the remote record. */
const HARVEST_EXTRAS = new Set(["harvest_object_id", "harvest_source_id", "harvest_source_title"]);

function short(v: unknown): unknown {
  if (typeof v === "string" && v.length > 200) return `${v.slice(0, 197)}...`;
  return v;
}

const names = (list: unknown, key = "name") =>
  new Set((Array.isArray(list) ? list : []).map((x) => String((x as Dict)?.[key] ?? "")).filter(Boolean));

export function datasetDiff(before: Dict, after: Dict): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of SCALARS) {
    const a = before[f] ?? "";
    const b = after[f] ?? "";
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ field: f, before: short(a), after: short(b) });
  }
  for (const [f, key] of [["tags", "name"], ["groups", "name"]] as const) {
    const a = names(before[f], key);
    const b = names(after[f], key);
    const removed = [...a].filter((x) => !b.has(x)).sort();
    const added = [...b].filter((x) => !a.has(x)).sort();
    if (removed.length || added.length) out.push({ field: f, before: removed, after: added });
  }
  const extras = (d: Dict) =>
    new Map(
      (Array.isArray(d.extras) ? d.extras as { key: string; value: string }[] : [])
        .filter((e) => !HARVEST_EXTRAS.has(e.key)).map((e) => [e.key, e.value]),
    );
  const ea = extras(before);
  const eb = extras(after);
  for (const k of [...new Set([...ea.keys(), ...eb.keys()])].sort()) {
    if (ea.get(k) !== eb.get(k)) out.push({ field: `extras.${k}`, before: short(ea.get(k)), after: short(eb.get(k)) });
  }
  const resources = (d: Dict) => (Array.isArray(d.resources) ? d.resources as Dict[] : []);
  const keyOf = (r: Dict) => String(r.id ?? r.url ?? "");
  const ra = new Map(resources(before).map((r) => [keyOf(r), r]));
  const rb = new Map(resources(after).map((r) => [keyOf(r), r]));
  for (const [k, r] of rb) {
    const old = ra.get(k);
    if (!old) {
      out.push({ field: `resources.${k}`, after: short(r.url) });
      continue;
    }
    for (const f of RESOURCE_FIELDS) {
      if (JSON.stringify(old[f] ?? "") !== JSON.stringify(r[f] ?? "")) {
        out.push({ field: `resources.${k}.${f}`, before: short(old[f]), after: short(r[f]) });
      }
    }
  }
  for (const [k, r] of ra) if (!rb.has(k)) out.push({ field: `resources.${k}`, before: short(r.url) });
  return out;
}

/** The summary key of a change: `title`, `tags`, `extras`, `resources`. */
export function changeGroup(field: string): string {
  return field.split(".")[0]!;
}
