/**
 * Real-shaped DCAT fixtures: a DCAT-AP catalog written in Turtle, N-Triples, RDF/XML and JSON-LD
 * (the same triples in each), Hydra-paged versions of it, and DCAT-US 1.1 data.json records. Used
 * by the tests and the benchmark, served on loopback.
 *
 * @module
 */

export interface DcatDataset {
  uri: string;
  identifier: string;
  title: string;
  description: string;
  keywords: string[];
  issued: string;
  modified: string;
  publisher: { uri: string; name: string };
  contact: { name: string; email: string };
  theme: string;
  license: string;
  temporal: { start: string; end: string };
  spatial: string;
  landingPage: string;
  distributions: { uri: string; title: string; url: string; format: string; mediaType: string; size: number }[];
}

export function dcatDatasets(count: number, base = "http://data.example.org"): DcatDataset[] {
  return Array.from({ length: count }, (_, i) => ({
    uri: `${base}/dataset/ds-${i}`,
    identifier: `ds-${i}`,
    title: `Air quality measurements ${i}`,
    description: `Hourly air quality measurements from station ${i}, with "quotes" & <angle> brackets.`,
    keywords: ["air quality", `station-${i % 7}`, "environment"],
    issued: "2023-01-15",
    modified: `2024-0${1 + (i % 9)}-1${i % 10}T10:00:00Z`,
    publisher: { uri: `${base}/org/env-agency`, name: "Environment Agency" },
    contact: { name: "Data Desk", email: "data@example.org" },
    theme: "http://publications.europa.eu/resource/authority/data-theme/ENVI",
    license: "http://creativecommons.org/licenses/by/4.0/",
    temporal: { start: "2020-01-01", end: "2023-12-31" },
    spatial: "http://publications.europa.eu/resource/authority/country/DEU",
    landingPage: `${base}/page/ds-${i}`,
    distributions: [{
      uri: `${base}/dataset/ds-${i}/csv`,
      title: `Measurements ${i} (CSV)`,
      url: `${base}/files/ds-${i}.csv`,
      format: "http://publications.europa.eu/resource/authority/file-type/CSV",
      mediaType: "https://www.iana.org/assignments/media-types/text/csv",
      size: 1000 + i,
    }],
  }));
}

const esc = (s: string) => s.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
const xml = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

const PREFIXES = `@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
`;

/** A catalog (or one page of it, with `next`) in Turtle. */
export function turtle(datasets: DcatDataset[], options: { catalog?: string; next?: string } = {}): string {
  const catalog = options.catalog ?? "http://data.example.org/catalog";
  const lines = [PREFIXES, `<${catalog}> a dcat:Catalog ;`, `  dct:title "Example catalog" ;`];
  if (datasets.length) lines.push(`  dcat:dataset ${datasets.map((d) => `<${d.uri}>`).join(", ")} ;`);
  lines.push(`  dct:publisher <http://data.example.org/org/env-agency> .`);
  if (options.next) {
    lines.push(`<${catalog}> a hydra:PagedCollection ; hydra:nextPage "${options.next}" .`);
  }
  for (const d of datasets) {
    lines.push(`<${d.uri}> a dcat:Dataset ;
  dct:identifier "${esc(d.identifier)}" ;
  dct:title "${esc(d.title)}"@en ;
  dct:description "${esc(d.description)}"@en ;
  ${d.keywords.map((k) => `dcat:keyword "${esc(k)}"@en`).join(" ;\n  ")} ;
  dct:issued "${d.issued}"^^xsd:date ;
  dct:modified "${d.modified}"^^xsd:dateTime ;
  dct:publisher <${d.publisher.uri}> ;
  dcat:contactPoint [ a vcard:Organization ; vcard:fn "${
      esc(d.contact.name)
    }" ; vcard:hasEmail <mailto:${d.contact.email}> ] ;
  dcat:theme <${d.theme}> ;
  dct:license <${d.license}> ;
  dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "${d.temporal.start}"^^xsd:date ; dcat:endDate "${d.temporal.end}"^^xsd:date ] ;
  dct:spatial <${d.spatial}> ;
  dcat:landingPage <${d.landingPage}> ;
  dcat:distribution ${d.distributions.map((x) => `<${x.uri}>`).join(", ")} .
<${d.publisher.uri}> a foaf:Organization ; foaf:name "${esc(d.publisher.name)}" .`);
    for (const x of d.distributions) {
      lines.push(`<${x.uri}> a dcat:Distribution ;
  dct:title "${esc(x.title)}" ;
  dcat:downloadURL <${x.url}> ;
  dcat:accessURL <${x.url}> ;
  dct:format <${x.format}> ;
  dcat:mediaType <${x.mediaType}> ;
  dcat:byteSize "${x.size}"^^xsd:decimal .`);
    }
  }
  return lines.join("\n") + "\n";
}

/** The same catalog in RDF/XML. */
export function rdfXml(datasets: DcatDataset[]): string {
  const out = [`<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"
  xmlns:dct="http://purl.org/dc/terms/" xmlns:foaf="http://xmlns.com/foaf/0.1/"
  xmlns:vcard="http://www.w3.org/2006/vcard/ns#">
 <dcat:Catalog rdf:about="http://data.example.org/catalog">
  <dct:title>Example catalog</dct:title>
  ${datasets.map((d) => `<dcat:dataset rdf:resource="${d.uri}"/>`).join("\n  ")}
  <dct:publisher rdf:resource="http://data.example.org/org/env-agency"/>
 </dcat:Catalog>`];
  for (const d of datasets) {
    out.push(` <dcat:Dataset rdf:about="${d.uri}">
  <dct:identifier>${xml(d.identifier)}</dct:identifier>
  <dct:title xml:lang="en">${xml(d.title)}</dct:title>
  <dct:description xml:lang="en">${xml(d.description)}</dct:description>
  ${d.keywords.map((k) => `<dcat:keyword xml:lang="en">${xml(k)}</dcat:keyword>`).join("\n  ")}
  <dct:issued rdf:datatype="http://www.w3.org/2001/XMLSchema#date">${d.issued}</dct:issued>
  <dct:modified rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">${d.modified}</dct:modified>
  <dct:publisher><foaf:Organization rdf:about="${d.publisher.uri}"><foaf:name>${
      xml(d.publisher.name)
    }</foaf:name></foaf:Organization></dct:publisher>
  <dcat:contactPoint><vcard:Organization><vcard:fn>${
      xml(d.contact.name)
    }</vcard:fn><vcard:hasEmail rdf:resource="mailto:${d.contact.email}"/></vcard:Organization></dcat:contactPoint>
  <dcat:theme rdf:resource="${d.theme}"/>
  <dct:license rdf:resource="${d.license}"/>
  <dct:temporal><dct:PeriodOfTime><dcat:startDate rdf:datatype="http://www.w3.org/2001/XMLSchema#date">${d.temporal.start}</dcat:startDate><dcat:endDate rdf:datatype="http://www.w3.org/2001/XMLSchema#date">${d.temporal.end}</dcat:endDate></dct:PeriodOfTime></dct:temporal>
  <dct:spatial rdf:resource="${d.spatial}"/>
  <dcat:landingPage rdf:resource="${d.landingPage}"/>
  ${
      d.distributions.map((x) =>
        `<dcat:distribution><dcat:Distribution rdf:about="${x.uri}">
   <dct:title>${xml(x.title)}</dct:title>
   <dcat:downloadURL rdf:resource="${x.url}"/>
   <dcat:accessURL rdf:resource="${x.url}"/>
   <dct:format rdf:resource="${x.format}"/>
   <dcat:mediaType rdf:resource="${x.mediaType}"/>
   <dcat:byteSize rdf:datatype="http://www.w3.org/2001/XMLSchema#decimal">${x.size}</dcat:byteSize>
  </dcat:Distribution></dcat:distribution>`
      ).join("\n  ")
    }
 </dcat:Dataset>`);
  }
  out.push("</rdf:RDF>\n");
  return out.join("\n");
}

/** The same catalog in JSON-LD, with an inline context. */
export function jsonLd(datasets: DcatDataset[]): string {
  const ctx = {
    dcat: "http://www.w3.org/ns/dcat#",
    dct: "http://purl.org/dc/terms/",
    foaf: "http://xmlns.com/foaf/0.1/",
    vcard: "http://www.w3.org/2006/vcard/ns#",
    xsd: "http://www.w3.org/2001/XMLSchema#",
  };
  const id = (v: string) => ({ "@id": v });
  const en = (v: string) => ({ "@value": v, "@language": "en" });
  const graph: unknown[] = [{
    "@id": "http://data.example.org/catalog",
    "@type": "dcat:Catalog",
    "dct:title": "Example catalog",
    "dcat:dataset": datasets.map((d) => id(d.uri)),
    "dct:publisher": id("http://data.example.org/org/env-agency"),
  }];
  for (const d of datasets) {
    graph.push({
      "@id": d.uri,
      "@type": "dcat:Dataset",
      "dct:identifier": d.identifier,
      "dct:title": en(d.title),
      "dct:description": en(d.description),
      "dcat:keyword": d.keywords.map(en),
      "dct:issued": { "@value": d.issued, "@type": "xsd:date" },
      "dct:modified": { "@value": d.modified, "@type": "xsd:dateTime" },
      "dct:publisher": id(d.publisher.uri),
      "dcat:contactPoint": {
        "@type": "vcard:Organization",
        "vcard:fn": d.contact.name,
        "vcard:hasEmail": id(`mailto:${d.contact.email}`),
      },
      "dcat:theme": id(d.theme),
      "dct:license": id(d.license),
      "dct:temporal": {
        "@type": "dct:PeriodOfTime",
        "dcat:startDate": { "@value": d.temporal.start, "@type": "xsd:date" },
        "dcat:endDate": { "@value": d.temporal.end, "@type": "xsd:date" },
      },
      "dct:spatial": id(d.spatial),
      "dcat:landingPage": id(d.landingPage),
      "dcat:distribution": d.distributions.map((x) => id(x.uri)),
    });
    graph.push({ "@id": d.publisher.uri, "@type": "foaf:Organization", "foaf:name": d.publisher.name });
    for (const x of d.distributions) {
      graph.push({
        "@id": x.uri,
        "@type": "dcat:Distribution",
        "dct:title": x.title,
        "dcat:downloadURL": id(x.url),
        "dcat:accessURL": id(x.url),
        "dct:format": id(x.format),
        "dcat:mediaType": id(x.mediaType),
        "dcat:byteSize": { "@value": String(x.size), "@type": "xsd:decimal" },
      });
    }
  }
  return JSON.stringify({ "@context": ctx, "@graph": graph });
}

/** A DCAT-US 1.1 record. */
export function dataJsonRecord(i: number, padding = 0): Record<string, unknown> {
  return {
    "@type": "dcat:Dataset",
    identifier: `https://agency.example.gov/id/${i}`,
    title: `Federal dataset ${i}`,
    description: `Records of program ${i % 13}.${padding ? " " + "x".repeat(padding) : ""}`,
    keyword: ["finance", `program-${i % 13}`],
    modified: `2024-02-${String(1 + (i % 28)).padStart(2, "0")}`,
    publisher: { "@type": "org:Organization", name: "Example Agency" },
    contactPoint: { "@type": "vcard:Contact", fn: "Jane Doe", hasEmail: "mailto:jane@agency.example.gov" },
    accessLevel: "public",
    bureauCode: ["015:11"],
    programCode: ["015:001"],
    license: "https://creativecommons.org/publicdomain/zero/1.0/",
    landingPage: `https://agency.example.gov/data/${i}`,
    distribution: [{
      "@type": "dcat:Distribution",
      downloadURL: `https://agency.example.gov/files/${i}.csv`,
      mediaType: "text/csv",
      format: "CSV",
      title: `Data ${i}`,
    }],
  };
}

/** A data.json catalog as a stream of bytes, generated as it is read (so serving it costs no memory). */
export function dataJsonStream(
  count: number,
  record: (i: number) => Record<string, unknown> = (i) => dataJsonRecord(i),
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = -1;
  return new ReadableStream({
    pull(controller) {
      if (i === -1) {
        controller.enqueue(encoder.encode(
          `{"@context":"https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld","@type":"dcat:Catalog",` +
            `"conformsTo":"https://project-open-data.cio.gov/v1.1/schema","dataset":[`,
        ));
        i = 0;
        return;
      }
      const parts: string[] = [];
      for (let k = 0; k < 500 && i < count; k++, i++) parts.push((i ? "," : "") + JSON.stringify(record(i)));
      if (parts.length) controller.enqueue(encoder.encode(parts.join("")));
      if (i >= count) {
        controller.enqueue(encoder.encode("]}"));
        controller.close();
      }
    },
  });
}
