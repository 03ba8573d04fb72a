/**
 * DCAT records as stable JSON trees, and the interface of the profiles that map a tree onto a local
 * dataset (dcat_ap.ts has ckanext-dcat's DCAT-AP 1, 2 and 3). A profile is replaceable: a plugin
 * passes its own to `dcatRdfHarvester({ profiles })`, and a source picks one with its `profile` config.
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
  dcatap: "http://data.europa.eu/r5r/",
  time: "http://www.w3.org/2006/time#",
  prov: "http://www.w3.org/ns/prov#",
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
  /** The revision of the profile's field table; change it when the mapping changes. */
  version?: string;
  /** The local dataset for a DCAT dataset; `warn` records problems that do not stop the import. */
  toPackage(tree: Tree, warn: (message: string) => void): PackageInput;
}
