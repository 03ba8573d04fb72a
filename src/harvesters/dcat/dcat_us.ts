/**
 * DCAT-US 1.1 records: validated against the Project Open Data schema as GSA's harvesters do, and
 * mapped onto a local dataset as ckanext-datajson maps them (its `MAPPING_V1_1`, `SKIP_V1_1` and
 * `parse_datajson_entry`). The schemas under `schemas/` are GSA datagov-harvester's
 * `schemas/dcatus1.1/` (public domain), used unchanged.
 *
 * @module
 */
import type { Ajv2020, ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { createHash } from "node:crypto";
import { mungeTitleToName } from "../../catalog/mod.ts";
import { licenseIdFor } from "./licenses.ts";

type Dict = Record<string, unknown>;

/** The revision of the DCAT-US field table (the README's); bump it when the mapping changes. */
export const DCAT_US_MAPPING_REVISION = "2026-12-02";

const SCHEMA_FILES = {
  federal: "./schemas/dcat_us_1.1_federal.json",
  "non-federal": "./schemas/dcat_us_1.1_non_federal.json",
} as const;
export type DcatUsSchema = keyof typeof SCHEMA_FILES;

const validators = new Map<DcatUsSchema, ValidateFunction>();

/**
 * The compiled schema (once per process: it is code, not state). Ajv is loaded on first use: a
 * process that never validates DCAT-US does not carry it in its heap.
 */
async function validator(schema: DcatUsSchema): Promise<ValidateFunction> {
  let v = validators.get(schema);
  if (!v) {
    const [{ Ajv2020 }, { default: addFormats }] = await Promise.all([
      import("ajv/dist/2020.js"),
      import("ajv-formats"),
    ]);
    // The schema's patterns are written for Python's re (escapes such as \_ and \!): not as Unicode regexps.
    const ajv = new Ajv2020({ allErrors: true, strict: false, unicodeRegExp: false });
    (addFormats as unknown as (a: Ajv2020) => void)(ajv);
    v = ajv.compile(JSON.parse(Deno.readTextFileSync(new URL(SCHEMA_FILES[schema], import.meta.url))));
    validators.set(schema, v);
  }
  return v;
}

/** `/distribution/0/accessURL` as `distribution[0].accessURL`. */
function fieldOf(instancePath: string, missing?: string): string {
  const parts = instancePath.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (missing) parts.push(missing);
  return parts.reduce((out, p) => /^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p, "") || "record";
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? "undefined" : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * One message per offending field, naming it: a missing required field, or the value and the forms
 * it may take (for `anyOf`, every branch's form, as GSA's messages list "the acceptable formats").
 */
export async function schemaErrors(record: Dict, schema: DcatUsSchema): Promise<string[]> {
  const validate = await validator(schema);
  if (validate(record)) return [];
  const errors = (validate.errors ?? []) as ErrorObject[];
  const byField = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const missing = e.keyword === "required" ? String((e.params as { missingProperty: string }).missingProperty) : "";
    const field = fieldOf(e.instancePath, missing || undefined);
    (byField.get(field) ?? byField.set(field, []).get(field)!).push(e);
  }
  const value = (path: string) =>
    path.split("/").slice(1).reduce<unknown>((v, k) => (v as Dict | undefined)?.[k], record as unknown);
  // A parent whose anyOf failed because of one of its children is reported as the child, the deepest
  // error (as jsonschema's best match does): "distribution[0].accessURL", not "distribution".
  const fields = [...byField.keys()];
  for (const f of fields) {
    if (fields.some((g) => g !== f && (g.startsWith(`${f}.`) || g.startsWith(`${f}[`)))) byField.delete(f);
  }
  const out: string[] = [];
  for (const [field, errs] of byField) {
    if (errs.some((e) => e.keyword === "required")) {
      out.push(`${field} is required`);
      continue;
    }
    const forms = errs.filter((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf").map((e) => {
      const p = e.params as Record<string, unknown>;
      if (e.keyword === "format") return `format ${p.format}`;
      if (e.keyword === "type") return `type ${p.type}`;
      if (e.keyword === "pattern") return `pattern ${p.pattern}`;
      if (e.keyword === "enum") return `one of ${(p.allowedValues as unknown[]).join(", ")}`;
      if (e.keyword === "const") return `exactly ${shown(p.allowedValue)}`;
      return e.message ?? e.keyword;
    });
    const unique = [...new Set(forms)];
    out.push(
      `${field}: ${shown(value(errs[0]!.instancePath))} ${unique.length > 1 ? "matches none of" : "does not match"} ${
        unique.join("; ")
      }`,
    );
  }
  return out;
}

/** ckanext-datajson's v1.1 mapping: data.json field → CKAN field (`extras__` prefixed ones are extras). */
const MAPPING_V1_1: Record<string, string | null> = {
  title: "title",
  description: "notes",
  keyword: "tags",
  modified: "extras__modified",
  publisher: "extras__publisher",
  contactPoint: null, // fn → maintainer, hasEmail → maintainer_email
  identifier: "extras__identifier",
  accessLevel: "extras__accessLevel",
  bureauCode: "extras__bureauCode",
  programCode: "extras__programCode",
  rights: "extras__rights",
  license: "extras__license",
  spatial: "extras__spatial",
  temporal: "extras__temporal",
  theme: "extras__theme",
  dataDictionary: "extras__dataDictionary",
  dataQuality: "extras__dataQuality",
  accrualPeriodicity: "extras__accrualPeriodicity",
  landingPage: "extras__landingPage",
  language: "extras__language",
  primaryITInvestmentUII: "extras__primaryITInvestmentUII",
  references: "extras__references",
  issued: "extras__issued",
  systemOfRecords: "extras__systemOfRecords",
  distribution: null,
};
/** Fields ckanext-datajson leaves out of the extras (distribution becomes the resources). */
const SKIP_V1_1 = new Set(["@type", "isPartOf", "distribution", "processed_how"]);

const str = (v: unknown): string | undefined => typeof v === "string" && v.trim() ? v.trim() : undefined;

/** An extra's text: strings as they are, lists of strings joined with commas, other values as JSON. */
function extraValue(v: unknown): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v.length ? v.join(",") : undefined;
  return JSON.stringify(v);
}

/** "Parent > Child > Publisher", from the publisher's `subOrganizationOf` chain, as ckanext-datajson. */
export function publisherHierarchy(publisher: Dict | undefined): string | undefined {
  if (!publisher) return undefined;
  const names: string[] = [];
  let parent = publisher.subOrganizationOf as Dict | undefined;
  for (let depth = 0; parent && typeof parent === "object" && depth < 32; depth++) {
    names.push(String(parent.name ?? ""));
    parent = parent.subOrganizationOf as Dict | undefined;
  }
  if (names.length === 0) return undefined;
  return [...names.reverse(), String(publisher.name ?? "")].join(" > ");
}

/** ckanext-datajson's licence rule: none → notspecified; a known URI or title → its id; else other-license-specified. */
export function dcatUsLicenseId(license: unknown): string {
  const value = str(license);
  if (!value) return "notspecified";
  return licenseIdFor(value) ?? "other-license-specified";
}

/** A resource id that stays the same across updates: from the record's identifier and the resource URL. */
export function stableResourceId(...parts: string[]): string {
  const h = createHash("sha1").update(parts.join("\u0000")).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${
    h.slice(17, 20)
  }-${h.slice(20, 32)}`;
}

/** A DCAT-US 1.1 record as a local dataset, as ckanext-datajson maps it (see the README's table). */
export function dcatUsToPackage(record: Dict): Dict {
  const extras: Record<string, string> = {
    "resource-type": "Dataset",
    source_datajson_identifier: "true",
    source_schema_version: "1.1",
  };
  const put = (key: string, v: unknown) => {
    const text = extraValue(v);
    if (text !== undefined) extras[key] = text;
  };
  const pkg: Dict = { extras };
  const unmapped: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (SKIP_V1_1.has(key)) continue;
    if (!(key in MAPPING_V1_1)) {
      unmapped.push(key);
      continue;
    }
    const target = MAPPING_V1_1[key];
    if (!target || value === null || value === undefined || value === "") continue;
    if (target.startsWith("extras__")) put(target.slice(8), value);
    else pkg[target] = value;
  }
  // Fields outside the schema are kept, as ckanext-datajson keeps them: sorted, the first 100.
  for (const key of unmapped.sort().slice(0, 100)) put(key, record[key]);

  const title = record.title;
  pkg.title = typeof title === "number" ? String(title) : str(title) ?? str(record.identifier) ?? "";
  pkg.notes = str(record.description) ?? "";
  const contact = (record.contactPoint ?? {}) as Dict;
  if (str(contact.fn)) pkg.maintainer = str(contact.fn);
  if (str(contact.hasEmail)) pkg.maintainer_email = str(contact.hasEmail)!.replace(/^mailto:/i, "");
  pkg.url = str(record.landingPage) ?? "";
  pkg.license_id = dcatUsLicenseId(record.license);

  // Tags as ckanext-datajson makes them: munge_title_to_name of each keyword.
  const keywords = Array.isArray(record.keyword)
    ? record.keyword
    : typeof record.keyword === "string"
    ? [record.keyword]
    : [];
  pkg.tags = [...new Set(keywords.filter((k) => typeof k === "string" && k.trim()).map((k) => mungeTitleToName(k)))]
    .filter((k) => k.length > 0).map((name) => ({ name }));

  const publisher = record.publisher as Dict | undefined;
  if (publisher && typeof publisher === "object") {
    put("publisher", publisher.name);
    put("publisher_hierarchy", publisherHierarchy(publisher));
  }
  const themes = Array.isArray(record.theme) ? record.theme.map((t) => String(t).toLowerCase()) : [];
  if (themes.includes("geospatial")) extras.metadata_type = "geospatial";

  let distributions = record.distribution;
  if (distributions && !Array.isArray(distributions) && typeof distributions === "object") {
    distributions = [distributions];
  }
  const identifier = str(record.identifier) ?? "";
  pkg.resources = (Array.isArray(distributions) ? distributions as Dict[] : []).flatMap((d) => {
    const download = str(d?.downloadURL);
    const access = str(d?.accessURL);
    const url = download ?? access;
    if (!url) return [];
    const r: Dict = {
      id: stableResourceId("dcat_json", identifier, url),
      url,
      format: str(d.format) ?? str(d.mediaType) ?? "",
      mimetype: str(d.mediaType) ?? "",
      description: str(d.description) ?? "",
      name: str(d.title) ?? "",
    };
    for (const k of ["conformsTo", "describedBy", "describedByType"]) if (str(d[k])) r[k] = str(d[k]);
    if (download && access) r.accessURL = access;
    return [r];
  });
  return pkg;
}
