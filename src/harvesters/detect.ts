/**
 * Source detection: given only a URL, probe it through the guarded outbound client and propose the
 * harvester type and a starting config. Probes, in order: a CKAN action API, the document itself
 * (asked for RDF first, by content negotiation: DCAT-AP in RDF/XML, Turtle or JSON-LD, with Hydra
 * paging; a DCAT-US data.json or a plain DCAT JSON list; an ISO 19139 document; a CSW capabilities
 * document; a Web Accessible Folder listing), then a CSW GetCapabilities request. The whole detection
 * has a time budget; what matches nothing is "not recognised", with what each probe saw.
 *
 * @module
 */
import type { HttpClient } from "../http/mod.ts";
import { messageOf } from "../errors/mod.ts";
import { detectFormat, parseRdf } from "./dcat/rdf_parse.ts";

export interface Detection {
  url: string;
  /** The harvester type to use, or null when nothing was recognised. */
  source_type: string | null;
  /** A starting config for that type. */
  config: Record<string, unknown>;
  /** What was recognised, in words. */
  reason: string;
  /** Each probe and what it saw, for "not recognised". */
  probes: { probe: string; saw: string }[];
}

const DCAT = "http://www.w3.org/ns/dcat#";
const HYDRA = "http://www.w3.org/ns/hydra/core#";
const RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const ACCEPT = "application/rdf+xml, text/turtle;q=0.95, application/ld+json;q=0.9, application/json;q=0.8, " +
  "application/xml;q=0.7, text/xml;q=0.7, text/html;q=0.5, */*;q=0.1";
/** A detection reads at most this much of any answer. */
const MAX_BYTES = 4 * 1024 * 1024;

type Probe = (url: string, signal: AbortSignal) => Promise<Omit<Detection, "url" | "probes"> | string>;

/** The CKAN action API answers status_show with its version. */
const ckanProbe: (http: HttpClient) => Probe = (http) => async (url, signal) => {
  const base = url.replace(/\/api(\/\d+)?(\/action)?\/?.*$/, "").replace(/\/+$/, "");
  const body = await http.getJson(`${base}/api/3/action/status_show`, {
    signal,
    maxBytes: MAX_BYTES,
    what: "status",
    attempts: 1,
  });
  const result = (body as { success?: boolean; result?: { ckan_version?: string } }).result;
  if ((body as { success?: boolean }).success && result?.ckan_version) {
    return { source_type: "ckan", config: {}, reason: `a CKAN ${result.ckan_version} action API` };
  }
  return "answers, but not as CKAN's status_show";
};

/** What the document at the URL is. */
const documentProbe: (http: HttpClient) => Probe = (http) => async (url, signal) => {
  const { text, contentType } = await http.getText(url, {
    signal,
    maxBytes: MAX_BYTES,
    headers: { Accept: ACCEPT },
    attempts: 1,
  });
  const type = contentType.toLowerCase();
  const head = text.trimStart().slice(0, 4096);
  // JSON: a DCAT-US catalog (an object with a dataset list) or plain DCAT JSON (a list of datasets).
  if (head.startsWith("{") || head.startsWith("[")) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      doc = undefined;
    }
    if (
      doc && typeof doc === "object" && !Array.isArray(doc) && Array.isArray((doc as { dataset?: unknown }).dataset)
    ) {
      const n = (doc as { dataset: unknown[] }).dataset.length;
      return { source_type: "dcat_json", config: {}, reason: `a DCAT-US data.json catalog of ${n} dataset(s)` };
    }
    if (Array.isArray(doc) && doc.some((d) => d && typeof d === "object" && ("identifier" in d || "title" in d))) {
      return { source_type: "dcat_json", config: {}, reason: `a plain DCAT JSON list of ${doc.length} dataset(s)` };
    }
    if (!type.includes("ld+json")) return "JSON, but neither a data.json catalog nor a list of datasets";
  }
  // XML that is not RDF: a CSW capabilities document or an ISO 19139 record.
  if (/<(\w+:)?Capabilities[\s>]/.test(head) && /opengis\.net\/cat\/csw/.test(head)) {
    return { source_type: "csw", config: {}, reason: "a CSW capabilities document" };
  }
  if (/<(\w+:)?MD_Metadata[\s>]/.test(head) || /<(\w+:)?MI_Metadata[\s>]/.test(head)) {
    return { source_type: "single_doc", config: {}, reason: "an ISO 19139 metadata document" };
  }
  // RDF in any syntax, with DCAT datasets or a catalog.
  const looksRdf = /rdf\+xml|turtle|n-triples|ld\+json/.test(type) ||
    /^<\?xml[^>]*>\s*<rdf:RDF|^@prefix|^<rdf:RDF/.test(head);
  if (looksRdf) {
    try {
      const format = detectFormat(undefined, contentType, text);
      const quads = await parseRdf(text, format, url);
      const datasets = quads.filter((q) =>
        q.predicate.value === RDF_TYPE && q.object.value === `${DCAT}Dataset`
      ).length;
      const catalog = quads.some((q) => q.predicate.value === RDF_TYPE && q.object.value === `${DCAT}Catalog`);
      const paged = quads.some((q) => q.predicate.value.startsWith(HYDRA) && /next/i.test(q.predicate.value));
      if (datasets || catalog) {
        const config: Record<string, unknown> = {};
        if (!/rdf\+xml|turtle|n-triples|ld\+json/.test(type)) config.rdf_format = format;
        return {
          source_type: "dcat_rdf",
          config,
          reason: `a DCAT catalog in ${format} with ${datasets} dataset(s) on this page${
            paged ? ", Hydra paging" : ""
          }`,
        };
      }
      return `RDF (${format}), but no dcat:Dataset or dcat:Catalog`;
    } catch (error) {
      return `looks like RDF but does not parse: ${messageOf(error)}`;
    }
  }
  // HTML: a Web Accessible Folder is a directory listing of metadata files.
  if (/html/.test(type) || /^<!doctype html|^<html/i.test(head)) {
    const links = [...text.matchAll(/href\s*=\s*["']([^"'?#]+)["']/gi)].map((m) => m[1]!);
    const xml = links.filter((l) => /\.xml$/i.test(l)).length;
    const listing = /<title>\s*(Index of|Directory listing)|\[To Parent Directory\]|<h1>Index of/i.test(text);
    if (xml > 0 && (listing || xml >= links.length / 2)) {
      return { source_type: "waf", config: {}, reason: `a Web Accessible Folder listing ${xml} XML file(s)` };
    }
    return `an HTML page${listing ? " listing no XML files" : ""}, not a catalog`;
  }
  return `a ${contentType || "document of no declared type"} that is none of the known catalog formats`;
};

/** A CSW server answers GetCapabilities. */
const cswProbe: (http: HttpClient) => Probe = (http) => async (url, signal) => {
  const u = new URL(url);
  for (const [k, v] of [["service", "CSW"], ["request", "GetCapabilities"]]) u.searchParams.set(k!, v!);
  const { text } = await http.getText(u.href, { signal, maxBytes: MAX_BYTES, attempts: 1 });
  if (/<(\w+:)?Capabilities[\s>]/.test(text.slice(0, 4096)) && /opengis\.net\/cat\/csw/.test(text)) {
    const v3 = /opengis\.net\/cat\/csw\/3\.0/.test(text);
    return { source_type: "csw", config: {}, reason: `a CSW ${v3 ? "3.0" : "2.0.2"} server (GetCapabilities)` };
  }
  return "no CSW capabilities";
};

/** Probes `url` and proposes a harvester type and config, within `budgetMs` in all. */
export async function detectSource(http: HttpClient, url: string, budgetMs = 10_000): Promise<Detection> {
  const signal = AbortSignal.timeout(budgetMs);
  const probes: Detection["probes"] = [];
  for (
    const [name, probe] of [["ckan", ckanProbe(http)], ["document", documentProbe(http)], [
      "csw",
      cswProbe(http),
    ]] as const
  ) {
    if (signal.aborted) {
      probes.push({ probe: name, saw: `not tried: the ${budgetMs / 1000} s budget was spent` });
      continue;
    }
    try {
      const found = await probe(url, signal);
      if (typeof found !== "string") return { url, ...found, probes: [...probes, { probe: name, saw: found.reason }] };
      probes.push({ probe: name, saw: found });
    } catch (error) {
      probes.push({ probe: name, saw: signal.aborted ? "no answer within the time budget" : messageOf(error) });
    }
  }
  return {
    url,
    source_type: null,
    config: {},
    reason: `not recognised: ${probes.map((p) => `${p.probe}: ${p.saw}`).join("; ")}`,
    probes,
  };
}
