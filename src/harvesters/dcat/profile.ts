/**
 * DCAT records as stable JSON trees, and the profile that maps a tree onto a local dataset the way
 * ckanext-dcat's default (DCAT-AP) profile does. A profile is replaceable: a plugin passes its own to
 * `dcatRdfHarvester({ profiles })`, and a source picks one with its `profile` config.
 *
 * @module
 */
import type { Quad, Store, Term } from "n3";
import type { PackageInput } from "../../catalog/mod.ts";

export const NS: Record<string, string> = {
  rdf: "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
  rdfs: "http://www.w3.org/2000/01/rdf-schema#",
  dcat: "http://www.w3.org/ns/dcat#",
  dct: "http://purl.org/dc/terms/",
  foaf: "http://xmlns.com/foaf/0.1/",
  vcard: "http://www.w3.org/2006/vcard/ns#",
  adms: "http://www.w3.org/ns/adms#",
  owl: "http://www.w3.org/2002/07/owl#",
  schema: "http://schema.org/",
  skos: "http://www.w3.org/2004/02/skos/core#",
  locn: "http://www.w3.org/ns/locn#",
  spdx: "http://spdx.org/rdf/terms#",
  hydra: "http://www.w3.org/ns/hydra/core#",
  xsd: "http://www.w3.org/2001/XMLSchema#",
  gsp: "http://www.opengis.net/ont/geosparql#",
};

/** A resource described as JSON: `@id` for named nodes, then each property (prefixed) with its values. */
export interface Tree {
  "@id"?: string;
  [property: string]: string | TreeValue[] | undefined;
}
export type TreeValue = Tree | { "@value": string; "@language"?: string; "@type"?: string };

function prefixed(iri: string): string {
  for (const [prefix, ns] of Object.entries(NS)) {
    if (iri.startsWith(ns) && iri.length > ns.length) return `${prefix}:${iri.slice(ns.length)}`;
  }
  return iri;
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stable((value as never)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Describes `subject` and, nested, the blank nodes and resources it points to (to `depth` levels,
 * each resource once per path), with properties and values sorted: the same description always
 * gives the same JSON, whatever the syntax or the blank node labels, so content hashes are stable.
 */
export function describe(store: Store, subject: Term, depth = 3, path: Set<string> = new Set()): Tree {
  const tree: Tree = {};
  if (subject.termType === "NamedNode") tree["@id"] = subject.value;
  const key = `${subject.termType}:${subject.value}`;
  const seen = new Set([...path, key]);
  const byPredicate = new Map<string, TreeValue[]>();
  for (const q of store.getQuads(subject, null, null, null) as Quad[]) {
    const p = prefixed(q.predicate.value);
    const o = q.object;
    let value: TreeValue;
    if (o.termType === "Literal") {
      value = { "@value": o.value };
      if (o.language) value["@language"] = o.language;
      else if (o.datatype && o.datatype.value !== `${NS.xsd}string` && o.datatype.value !== `${NS.rdf}langString`) {
        value["@type"] = prefixed(o.datatype.value);
      }
    } else if (p === "rdf:type") {
      value = { "@id": prefixed(o.value) };
    } else {
      const objectKey = `${o.termType}:${o.value}`;
      const expand = depth > 0 && !seen.has(objectKey) && store.getQuads(o, null, null, null).length > 0;
      value = expand ? describe(store, o, depth - 1, seen) : (o.termType === "NamedNode" ? { "@id": o.value } : {});
    }
    (byPredicate.get(p) ?? byPredicate.set(p, []).get(p)!).push(value);
  }
  for (const p of [...byPredicate.keys()].sort()) {
    tree[p] = byPredicate.get(p)!.sort((a, b) => stable(a).localeCompare(stable(b)));
  }
  return tree;
}

/** The JSON text of a tree, keys sorted, for storing as object content. */
export function treeJson(tree: Tree): string {
  return JSON.stringify(JSON.parse(stable(tree)), null, 1);
}

/** Maps a described dataset onto a local dataset. */
export interface DcatProfile {
  name: string;
  /** The local dataset for a DCAT dataset; `warn` records problems that do not stop the import. */
  toPackage(tree: Tree, warn: (message: string) => void): PackageInput;
}

// Reading helpers over trees.
function values(tree: Tree | undefined, p: string): TreeValue[] {
  const v = tree?.[p];
  return Array.isArray(v) ? v : [];
}
function text(v: TreeValue | undefined): string | undefined {
  if (!v) return undefined;
  if ("@value" in v) return v["@value"] as string;
  return (v as Tree)["@id"];
}
/** The first value, preferring English or untagged literals for language-tagged ones. */
function first(tree: Tree | undefined, p: string): string | undefined {
  const vs = values(tree, p);
  const preferred = vs.find((v) => "@value" in v && (!v["@language"] || String(v["@language"]).startsWith("en")));
  return text(preferred ?? vs[0]);
}
function all(tree: Tree | undefined, p: string): string[] {
  return values(tree, p).map(text).filter((s): s is string => typeof s === "string" && s.length > 0);
}
function node(tree: Tree | undefined, p: string): Tree | undefined {
  const v = values(tree, p)[0];
  return v && !("@value" in v) ? v as Tree : undefined;
}
function nodes(tree: Tree | undefined, p: string): Tree[] {
  return values(tree, p).filter((v) => !("@value" in v)) as Tree[];
}
function mail(s: string | undefined): string | undefined {
  return s?.replace(/^mailto:/i, "");
}

/** ckanext-dcat's default profile: core fields, extras with its key names, distributions as resources. */
export const defaultProfile: DcatProfile = {
  name: "default",
  toPackage(tree, warn) {
    const title = first(tree, "dct:title");
    if (!title) warn("The dataset has no dct:title; its identifier is used as title");
    const extras: Record<string, string> = {};
    const put = (key: string, value: string | string[] | undefined) => {
      if (value === undefined || (Array.isArray(value) && value.length === 0) || value === "") return;
      extras[key] = Array.isArray(value) ? (value.length === 1 ? value[0]! : JSON.stringify(value)) : value;
    };
    const identifier = first(tree, "dct:identifier");
    put("uri", tree["@id"] as string | undefined);
    put("identifier", identifier);
    put("issued", first(tree, "dct:issued"));
    put("modified", first(tree, "dct:modified"));
    put("frequency", first(tree, "dct:accrualPeriodicity"));
    put("language", all(tree, "dct:language"));
    put("theme", all(tree, "dcat:theme"));
    put("conforms_to", all(tree, "dct:conformsTo"));
    put("alternate_identifier", nodes(tree, "adms:identifier").map((n) => first(n, "skos:notation")!).filter(Boolean));
    put("documentation", all(tree, "foaf:page"));
    put("access_rights", first(tree, "dct:accessRights"));
    put("provenance", first(node(tree, "dct:provenance"), "rdfs:label") ?? first(tree, "dct:provenance"));
    put("has_version", all(tree, "dct:hasVersion"));
    put("is_version_of", all(tree, "dct:isVersionOf"));
    put("source", all(tree, "dct:source"));
    put("dcat_type", first(tree, "dct:type"));

    const publisher = node(tree, "dct:publisher");
    put("publisher_uri", publisher?.["@id"] as string | undefined);
    put("publisher_name", first(publisher, "foaf:name"));
    put("publisher_email", mail(first(publisher, "foaf:mbox")));
    put("publisher_url", first(publisher, "foaf:homepage"));
    put("publisher_type", first(publisher, "dct:type"));

    const contact = node(tree, "dcat:contactPoint");
    put("contact_uri", contact?.["@id"] as string | undefined);
    put("contact_name", first(contact, "vcard:fn"));
    put("contact_email", mail(first(contact, "vcard:hasEmail")));

    const temporal = node(tree, "dct:temporal");
    put("temporal_start", first(temporal, "dcat:startDate") ?? first(temporal, "schema:startDate"));
    put("temporal_end", first(temporal, "dcat:endDate") ?? first(temporal, "schema:endDate"));
    const spatial = node(tree, "dct:spatial");
    if (spatial) {
      put("spatial_uri", spatial["@id"] as string | undefined);
      put("spatial_text", first(spatial, "skos:prefLabel") ?? first(spatial, "rdfs:label"));
      put("spatial", first(spatial, "locn:geometry") ?? first(spatial, "dcat:bbox"));
    }

    let licenseId = first(tree, "dct:license");
    const resources = nodes(tree, "dcat:distribution").map((d, i) => {
      const download = first(d, "dcat:downloadURL");
      const access = first(d, "dcat:accessURL");
      if (!download && !access) warn(`Distribution ${i + 1} has neither dcat:downloadURL nor dcat:accessURL`);
      const license = first(d, "dct:license");
      licenseId ??= license;
      const format = node(d, "dct:format");
      const size = first(d, "dcat:byteSize");
      return {
        url: download ?? access ?? "",
        name: first(d, "dct:title") ?? "",
        description: first(d, "dct:description") ?? "",
        format: (format ? first(format, "rdfs:label") ?? format["@id"] : first(d, "dct:format"))?.split("/").pop() ??
          "",
        mimetype: first(d, "dcat:mediaType")?.replace(/^https?:\/\/www\.iana\.org\/assignments\/media-types\//, "") ??
          "",
        size: size && /^\d+$/.test(size) ? Number(size) : undefined,
        uri: d["@id"],
        download_url: download,
        access_url: access,
        issued: first(d, "dct:issued"),
        modified: first(d, "dct:modified"),
        license,
        rights: first(d, "dct:rights"),
      };
    });
    return {
      title: title ?? identifier ?? (tree["@id"] as string | undefined) ?? "",
      notes: first(tree, "dct:description") ?? "",
      url: first(tree, "dcat:landingPage") ?? "",
      version: first(tree, "owl:versionInfo") ?? "",
      license_id: licenseId ?? "",
      tags: all(tree, "dcat:keyword").map((name) => ({ name })),
      extras,
      resources,
    };
  },
};
