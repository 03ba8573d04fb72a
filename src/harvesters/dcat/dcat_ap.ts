/**
 * The DCAT-AP profiles, field by field as ckanext-dcat's `euro_dcat_ap` (1), `euro_dcat_ap_2` and
 * `euro_dcat_ap_3` parse them (ckanext/dcat/profiles/euro_dcat_ap_base.py and its subclasses), in
 * their non-scheming form: core fields, extras with ckanext-dcat's key names, one resource per
 * distribution. The README's "DCAT-AP mapping" table lists every field and each deliberate
 * difference (licences mapped beyond CKAN's register, dates normalised, stable resource ids,
 * blank-node identifiers read through skos:notation).
 *
 * @module
 */
import type { PackageInput } from "../../catalog/mod.ts";
import type { DcatProfile, Tree, TreeValue } from "./profile.ts";
import { licenseIdFor } from "./licenses.ts";
import { stableResourceId } from "./dcat_us.ts";
import { wktToGeoJson } from "./wkt.ts";

const DEFAULT_LANG = "en";
/** The revision of these profiles' field tables (the README's DCAT-AP table); bump it when it changes. */
export const MAPPING_REVISION = "2026-12-02";

function values(tree: Tree | undefined, p: string): TreeValue[] {
  const v = tree?.[p];
  return Array.isArray(v) ? v : [];
}
const isLiteral = (v: TreeValue): v is { "@value": string; "@language"?: string; "@type"?: string } => "@value" in v;

/**
 * ckanext-dcat's `_object_value`: a literal in the default language, else the first literal; a
 * resource's rdfs:label when it has one, else its URI. Blank nodes without a label give nothing.
 */
function value(tree: Tree | undefined, p: string): string | undefined {
  let fallback: string | undefined;
  for (const v of values(tree, p)) {
    if (isLiteral(v)) {
      if (v["@language"] === DEFAULT_LANG) return v["@value"];
      fallback ??= v["@value"];
      continue;
    }
    const label = value(v as Tree, "rdfs:label");
    if (label) return label;
    const id = (v as Tree)["@id"];
    if (typeof id === "string") return id;
  }
  return fallback;
}

/**
 * ckanext-dcat's `_object_value_list`: every value, literals as text and resources as their URI. A
 * blank node (which ckanext-dcat lists by its internal id) gives its skos:notation or rdfs:label.
 */
function list(tree: Tree | undefined, p: string): string[] {
  const out: string[] = [];
  for (const v of values(tree, p)) {
    if (isLiteral(v)) out.push(v["@value"]);
    else if (typeof (v as Tree)["@id"] === "string") out.push((v as Tree)["@id"] as string);
    else {
      const text = value(v as Tree, "skos:notation") ?? value(v as Tree, "rdfs:label");
      if (text) out.push(text);
    }
  }
  return out.filter((s) => s.length > 0);
}

function nodes(tree: Tree | undefined, p: string): Tree[] {
  return values(tree, p).filter((v) => !isLiteral(v)) as Tree[];
}
const node = (tree: Tree | undefined, p: string) => nodes(tree, p)[0];
const uriOf = (tree: Tree | undefined) => typeof tree?.["@id"] === "string" ? tree["@id"] as string : "";
const withoutMailto = (s: string | undefined) => s?.replace(/^mailto:/i, "");

/** A vCard property: the literal, or the value of the node it points to (vcard:hasValue), or its URI. */
function vcard(tree: Tree | undefined, p: string, simple?: string): string | undefined {
  const direct = simple ? value(tree, simple) : undefined;
  if (direct) return direct;
  const n = node(tree, p);
  if (n && !n["@id"]) return value(n, "vcard:hasValue");
  return value(tree, p);
}

/** ckanext-dcat's `_contact_details` for the first contact point. */
function contact(tree: Tree): Record<string, string | undefined> | undefined {
  const c = node(tree, "dcat:contactPoint") ?? node(tree, "adms:contactPoint");
  if (!c) return undefined;
  return {
    uri: uriOf(c),
    name: vcard(c, "vcard:hasFN", "vcard:fn"),
    email: withoutMailto(vcard(c, "vcard:hasEmail")),
    identifier: vcard(c, "vcard:hasUID"),
    url: vcard(c, "vcard:hasURL"),
  };
}

/** ckanext-dcat's `_agents_details` for the first agent. */
function agent(tree: Tree, p: string): Record<string, string | undefined> | undefined {
  const a = node(tree, p);
  if (!a) return undefined;
  return {
    uri: uriOf(a),
    name: value(a, "foaf:name"),
    email: withoutMailto(value(a, "foaf:mbox") ?? value(a, "vcard:hasEmail")),
    url: value(a, "foaf:homepage"),
    type: value(a, "dct:type"),
    identifier: value(a, "dct:identifier"),
  };
}

/** Start and end of dct:temporal: DCAT-AP 2 reads dcat:startDate first, then W3C Time, then schema.org. */
function temporal(tree: Tree, version: number): [string | undefined, string | undefined] {
  const readers = [
    (t: Tree) => [value(t, "dcat:startDate"), value(t, "dcat:endDate")],
    (t: Tree) => [
      timeInstant(node(t, "time:hasBeginning")),
      timeInstant(node(t, "time:hasEnd")),
    ],
    (t: Tree) => [value(t, "schema:startDate"), value(t, "schema:endDate")],
  ];
  const order = version >= 2 ? [0, 1, 2] : [2, 1];
  for (const i of order) {
    for (const t of nodes(tree, "dct:temporal")) {
      const [start, end] = readers[i]!(t);
      if (start || end) return [start, end];
    }
  }
  return [undefined, undefined];
}
function timeInstant(t: Tree | undefined): string | undefined {
  return value(t, "time:inXSDDateTimeStamp") ?? value(t, "time:inXSDDateTime") ?? value(t, "time:inXSDDate");
}

/** A geometry literal as GeoJSON text: GeoJSON as it is, WKT converted; anything else nothing. */
function geometry(t: Tree, p: string): string | undefined {
  for (const v of values(t, p)) {
    if (!isLiteral(v)) continue;
    const text = v["@value"].trim();
    if (text.startsWith("{")) {
      try {
        JSON.parse(text);
        return text;
      } catch { /* not GeoJSON: try the next */ }
    }
    const geo = wktToGeoJson(text);
    if (geo) return JSON.stringify(geo);
  }
  return undefined;
}

/** ckanext-dcat's `_spatial`: URI, text, geometry, and (DCAT-AP 2) bbox and centroid. */
function spatial(tree: Tree): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const v of values(tree, "dct:spatial")) {
    if (isLiteral(v)) {
      out.text = v["@value"];
      continue;
    }
    const s = v as Tree;
    if (s["@id"]) out.uri = s["@id"] as string;
    const isLocation = values(s, "rdf:type").some((t) => !isLiteral(t) && (t as Tree)["@id"] === "dct:Location");
    if (isLocation || s["locn:geometry"] || s["dcat:bbox"] || s["dcat:centroid"]) {
      out.geom ??= geometry(s, "locn:geometry");
      out.bbox ??= geometry(s, "dcat:bbox");
      out.centroid ??= geometry(s, "dcat:centroid");
      out.text = value(s, "rdfs:label") ?? value(s, "skos:prefLabel") ?? out.text;
    }
  }
  return out;
}

/** Keywords, with comma-separated ones split (ckanext-dcat's `_keywords`). */
function keywords(tree: Tree): string[] {
  return list(tree, "dcat:keyword").flatMap((k) => k.includes(",") ? k.split(",").map((x) => x.trim()) : [k])
    .filter((k) => k.length > 0);
}

/**
 * A date as ISO 8601: xsd:date and xsd:dateTime lexical forms stay as they are; other readable
 * dates ("10 May 2012", RFC 2822) are rewritten; what cannot be read is kept as published.
 */
export function normalizeDate(v: string | undefined): string | undefined {
  if (!v) return v;
  const text = v.trim();
  if (/^\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$/.test(text)) return text;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return text;
  const iso = new Date(ms).toISOString();
  return /\d{1,2}:\d{2}/.test(text) ? iso.replace(/\.000Z$/, "Z") : iso.slice(0, 10);
}

/** CKAN's resource format names for common media types (its resource_formats registry, the usual rows). */
const FORMATS: Record<string, string> = {
  "text/csv": "CSV",
  "application/json": "JSON",
  "application/geo+json": "GeoJSON",
  "application/vnd.geo+json": "GeoJSON",
  "application/xml": "XML",
  "text/xml": "XML",
  "application/pdf": "PDF",
  "text/html": "HTML",
  "text/plain": "TXT",
  "application/zip": "ZIP",
  "application/vnd.ms-excel": "XLS",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
  "application/vnd.oasis.opendocument.spreadsheet": "ODS",
  "application/rdf+xml": "RDF",
  "text/turtle": "TTL",
  "application/ld+json": "JSON-LD",
  "application/vnd.google-earth.kml+xml": "KML",
  "application/gml+xml": "GML",
  "application/x-shapefile": "SHP",
};
const FORMAT_NAMES = new Map(Object.values(FORMATS).map((f) => [f.toLowerCase(), f]));

/** ckanext-dcat's `_distribution_format`: the media type and the CKAN format label. */
function distributionFormat(d: Tree): { mimetype?: string; format?: string } {
  const iana = /^https?:\/\/www\.iana\.org\/assignments\/media-types\//;
  let imt = value(d, "dcat:mediaType")?.replace(iana, "");
  let label: string | undefined;
  const f = values(d, "dct:format")[0];
  if (f && isLiteral(f)) {
    if (!imt && f["@value"].includes("/")) imt = f["@value"];
    else label = f["@value"];
  } else if (f) {
    const t = f as Tree;
    const id = typeof t["@id"] === "string" ? t["@id"] as string : "";
    if (values(t, "rdf:type").some((x) => !isLiteral(x) && (x as Tree)["@id"] === "dct:IMT")) {
      imt ??= value(t, "rdf:value");
      label = value(t, "rdfs:label");
    } else if (iana.test(id) && !imt) imt = id.replace(iana, "");
    else label = value(t, "rdfs:label") ?? id;
  }
  // An EU file-type authority URI names its format in its last segment (…/file-type/CSV).
  if (label && /^https?:\/\/publications\.europa\.eu\/resource\/authority\/file-type\//.test(label)) {
    label = label.split("/").pop();
  }
  if (imt && FORMATS[imt]) label = FORMATS[imt];
  else if (label && FORMAT_NAMES.has(label.toLowerCase())) label = FORMAT_NAMES.get(label.toLowerCase());
  return { mimetype: imt, format: label ?? imt };
}

/** A decimal, or a list of them as JSON, as ckanext-dcat stores spatialResolutionInMeters. */
function decimals(tree: Tree, p: string): string | undefined {
  const nums = list(tree, p).map(Number).filter((n) => Number.isFinite(n));
  if (nums.length === 0) return undefined;
  return nums.length === 1 ? String(nums[0]) : JSON.stringify(nums);
}

/** The resource of one distribution. */
function resource(d: Tree, version: number, datasetKey: string, warn: (m: string) => void, i: number) {
  const r: Record<string, unknown> = {};
  const set = (key: string, v: string | undefined) => {
    if (v !== undefined && v !== "") r[key] = v;
  };
  const setList = (key: string, p: string) => {
    const vs = list(d, p);
    if (vs.length) r[key] = JSON.stringify(vs);
  };
  const download = value(d, "dcat:downloadURL");
  const access = value(d, "dcat:accessURL");
  if (!download && !access) warn(`Distribution ${i + 1} has neither dcat:downloadURL nor dcat:accessURL`);
  set("access_url", access);
  set("download_url", download);
  set("issued", normalizeDate(value(d, "dct:issued")));
  set("modified", normalizeDate(value(d, "dct:modified")));
  set("status", value(d, "adms:status"));
  set("license", value(d, "dct:license"));
  set("rights", value(d, "dct:rights"));
  r.name = value(d, "dct:title") ?? "";
  r.description = value(d, "dct:description") ?? "";
  r.url = download ?? access ?? "";
  setList("language", "dct:language");
  setList("documentation", "foaf:page");
  setList("conforms_to", "dct:conformsTo");
  const { mimetype, format } = distributionFormat(d);
  r.mimetype = mimetype ?? "";
  r.format = format ?? "";
  const size = Number(value(d, "dcat:byteSize"));
  if (value(d, "dcat:byteSize") && Number.isFinite(size)) r.size = Math.trunc(size);
  const checksum = node(d, "spdx:checksum");
  set("hash_algorithm", value(checksum, "spdx:algorithm")?.replace(/^.*[#/]checksumAlgorithm_/, ""));
  set("hash", value(checksum, "spdx:checksumValue"));
  const uri = uriOf(d);
  r.uri = uri;
  // A distribution with a URI keeps its resource id across updates (clients link to resources).
  if (uri) r.id = stableResourceId("dcat_rdf", datasetKey, uri);
  if (version >= 2) {
    set("availability", value(d, "dcatap:availability"));
    set("compress_format", value(d, "dcat:compressFormat"));
    set("package_format", value(d, "dcat:packageFormat"));
    set("temporal_resolution", value(d, "dcat:temporalResolution"));
    set("spatial_resolution_in_meters", decimals(d, "dcat:spatialResolutionInMeters"));
    setList("applicable_legislation", "dcatap:applicableLegislation");
    const services = nodes(d, "dcat:accessService").map((s) => {
      const out: Record<string, unknown> = {};
      for (
        const [key, p] of [
          ["availability", "dcatap:availability"],
          ["title", "dct:title"],
          ["endpoint_description", "dcat:endpointDescription"],
          ["license", "dct:license"],
          ["access_rights", "dct:accessRights"],
          ["description", "dct:description"],
          ["identifier", "dct:identifier"],
          ["modified", "dct:modified"],
        ]
      ) {
        const v = value(s, p!);
        if (v) out[key!] = v;
      }
      for (
        const [key, p] of [
          ["endpoint_url", "dcat:endpointURL"],
          ["serves_dataset", "dcat:servesDataset"],
          ["conforms_to", "dct:conformsTo"],
          ["format", "dct:format"],
          ["language", "dct:language"],
          ["rights", "dct:rights"],
          ["landing_page", "dcat:landingPage"],
          ["keyword", "dcat:keyword"],
          ["applicable_legislation", "dcatap:applicableLegislation"],
          ["theme", "dcat:theme"],
        ]
      ) {
        const vs = list(s, p!);
        if (vs.length) out[key!] = vs;
      }
      out.uri = uriOf(s);
      return out;
    });
    if (services.length) r.access_services = JSON.stringify(services);
  }
  return r;
}

/** The DCAT-AP profile of one version (1, 2 or 3). */
export function dcatApProfile(version: 1 | 2 | 3): DcatProfile {
  return {
    name: `dcat_ap_${version}`,
    version: MAPPING_REVISION,
    toPackage(tree, warn): PackageInput {
      const extras: Record<string, string> = {};
      const put = (key: string, v: string | undefined) => {
        if (v !== undefined && v !== "") extras[key] = v;
      };
      const putList = (key: string, vs: string[]) => {
        if (vs.length) extras[key] = JSON.stringify(vs);
      };
      const title = value(tree, "dct:title");
      if (!title) warn("The dataset has no dct:title; its identifier is used as title");
      const identifier = value(tree, "dct:identifier");

      put("issued", normalizeDate(value(tree, "dct:issued")));
      put("modified", normalizeDate(value(tree, "dct:modified")));
      put("identifier", identifier);
      put("version_notes", value(tree, "adms:versionNotes"));
      put("frequency", value(tree, "dct:accrualPeriodicity"));
      put("provenance", value(tree, "dct:provenance"));
      put("dcat_type", value(tree, "dct:type"));
      putList("language", list(tree, "dct:language"));
      putList("theme", list(tree, "dcat:theme"));
      putList("alternate_identifier", list(tree, "adms:identifier"));
      putList("conforms_to", list(tree, "dct:conformsTo"));
      putList("documentation", list(tree, "foaf:page"));
      putList("related_resource", list(tree, "dct:relation"));
      putList("has_version", list(tree, "dct:hasVersion").concat(version >= 3 ? list(tree, "dcat:hasVersion") : []));
      putList("is_version_of", list(tree, "dct:isVersionOf"));
      putList("source", list(tree, "dct:source"));
      putList("sample", list(tree, "adms:sample"));

      const c = contact(tree);
      for (const key of ["uri", "name", "email", "identifier", "url"]) put(`contact_${key}`, c?.[key]);
      for (const [role, p] of [["publisher", "dct:publisher"], ["creator", "dct:creator"]] as const) {
        const a = agent(tree, p);
        for (const key of ["uri", "name", "email", "url", "type", "identifier"]) put(`${role}_${key}`, a?.[key]);
      }
      const [start, end] = temporal(tree, version);
      put("temporal_start", normalizeDate(start));
      put("temporal_end", normalizeDate(end));
      const place = spatial(tree);
      put("spatial_uri", place.uri);
      put("spatial_text", place.text);
      put("spatial", place.geom);
      if (version >= 2) {
        put("spatial_bbox", place.bbox);
        put("spatial_centroid", place.centroid);
        // Where only a bbox is given, it is also the dataset's footprint (ckanext-spatial reads `spatial`).
        if (!place.geom) put("spatial", place.bbox);
      }
      put("uri", uriOf(tree));
      const rights = node(tree, "dct:accessRights");
      put("access_rights", rights && !rights["@id"] ? value(rights, "rdfs:label") : value(tree, "dct:accessRights"));
      put("homepage", value(tree, "foaf:homepage"));
      if (version >= 2) {
        put("temporal_resolution", value(tree, "dcat:temporalResolution"));
        putList("is_referenced_by", list(tree, "dct:isReferencedBy"));
        putList("applicable_legislation", list(tree, "dcatap:applicableLegislation"));
        putList("hvd_category", list(tree, "dcatap:hvdCategory"));
        put("spatial_resolution_in_meters", decimals(tree, "dcat:spatialResolutionInMeters"));
      }

      const datasetKey = uriOf(tree) || identifier || "";
      const distributions = nodes(tree, "dcat:distribution");
      const resources = distributions.map((d, i) => resource(d, version, datasetKey, warn, i));
      // The licence: the first distribution licence CKAN knows (ckanext-dcat), then the dataset's own.
      let licenseId: string | undefined;
      for (const d of distributions) {
        const l = node(d, "dct:license");
        licenseId = licenseIdFor(uriOf(l) || value(d, "dct:license")) ?? licenseIdFor(value(l, "dct:title"));
        if (licenseId) break;
      }
      licenseId ??= licenseIdFor(value(tree, "dct:license"));
      if (!licenseId && (value(tree, "dct:license") || distributions.some((d) => value(d, "dct:license")))) {
        warn(
          `The licence ${
            value(tree, "dct:license") ?? distributions.map((d) => value(d, "dct:license")).find(Boolean)
          } is not one CKAN knows: license_id is left empty (the licence stays on the resources)`,
        );
      }
      const version_ = (version >= 3 ? value(tree, "dcat:version") : undefined) ?? value(tree, "owl:versionInfo") ??
        value(tree, "adms:version");
      return {
        title: title ?? identifier ?? uriOf(tree),
        notes: value(tree, "dct:description") ?? "",
        url: value(tree, "dcat:landingPage") ?? "",
        version: version_ ?? "",
        license_id: licenseId ?? "",
        tags: [...new Set(keywords(tree))].map((name) => ({ name })),
        extras,
        resources,
      };
    },
  };
}
