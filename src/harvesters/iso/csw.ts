/**
 * The `csw` harvester: an OGC Catalogue Service for the Web (CSW 2.0.2, or 3.0.0 when the server's
 * capabilities offer it). GetRecords pages of full ISO records (`page_size`, default 100) followed by
 * `nextRecord`, never trusting `numberOfRecordsMatched` to stop; an optional constraint (`cql` text or an
 * OGC `filter`); incremental runs by `apiso:Modified` when the server can query it (then only the
 * changed records are read in full, and a brief listing of identifiers keeps the listing complete);
 * GetRecordById for records that arrive without their content. An exception report is a gather error.
 *
 * @module
 */
import { z } from "zod";
import type {
  DocumentValidators,
  FetchContext,
  GatherContext,
  GatheredRecord,
  Harvester,
} from "../../harvest/interface.ts";
import { messageOf, NotModifiedError, RemoteError } from "../../errors/mod.ts";
import { BlockedUrlError, type Validators } from "../../http/mod.ts";
import { parseDcatConfig } from "../dcat/config.ts";
import { type IsoProfile, isoStandard, readIso } from "./iso19139.ts";
import { type IsoConfig, isoConfigFields, IsoMappings, type IsoValidator } from "./record.ts";
import { all, attr, elements, first, parseXml, serialize, text, texts, type XmlElement, XmlError } from "./xml.ts";

const ISO_SCHEMA = "http://www.isotc211.org/2005/gmd";
const CSW_NS: Record<string, string> = {
  "2.0.2": "http://www.opengis.net/cat/csw/2.0.2",
  "3.0.0": "http://www.opengis.net/cat/csw/3.0",
};

export const cswConfigSchema = z.strictObject({
  ...isoConfigFields,
  page_size: z.number({ error: "page_size must be a number of records" }).int().min(1).max(1000).optional(),
  cql: z.string({ error: "cql must be a CQL text" }).min(1).optional(),
  filter: z.string({ error: "filter must be an OGC Filter as XML text" }).refine((v) => {
    try {
      return parseXml(v).local === "Filter";
    } catch {
      return false;
    }
  }, "filter must be a well-formed <ogc:Filter> (or <fes:Filter>) element").optional(),
  incremental: z.boolean({ error: "incremental must be true or false" }).optional(),
  records_from: z.enum(["getrecords", "getrecordbyid"], {
    error: "records_from must be getrecords or getrecordbyid",
  }).optional(),
  version: z.enum(["auto", "2.0.2", "3.0.0"], { error: "version must be auto, 2.0.2 or 3.0.0" }).optional(),
}).refine((c) => !(c.cql && c.filter), { message: "give either cql or filter, not both", path: ["filter"] });

export type CswConfig = z.output<typeof cswConfigSchema>;

/** What GetCapabilities says matters to a harvest. */
export interface CswCapabilities {
  version: "2.0.2" | "3.0.0";
  /** The GET address of the operations (the source URL when the capabilities name none). */
  getUrl: string;
  isoOutput: boolean;
  /** The server can filter on the records' modification date. */
  modifiedQueryable: boolean;
  title: string;
}

/** Answers an OWS exception report's message, or undefined when `root` is none. */
export function exceptionMessage(root: XmlElement): string | undefined {
  if (root.local !== "ExceptionReport") return undefined;
  const e = first(root, "ows:Exception");
  const code = attr(e, "exceptionCode") ?? "";
  const locator = attr(e, "locator");
  const detail = e ? texts(e, "ows:ExceptionText").join("; ") : text(root);
  return `${code}${locator ? ` (${locator})` : ""}: ${detail || "no detail"}`;
}

/**
 * GETs an OWS operation; an exception report (servers send it with 200 or with 400) becomes an
 * error with the server's code and text, `where` saying which request it answered.
 */
async function owsGet(
  http: GatherContext["http"],
  url: string,
  signal: AbortSignal | undefined,
  where: string,
  validators?: Validators,
) {
  try {
    return await http.getText(url, { signal, validators, headers: { Accept: "application/xml, text/xml;q=0.9" } });
  } catch (error) {
    if (error instanceof RemoteError && error.body?.includes("ExceptionReport")) {
      try {
        const problem = exceptionMessage(parseXml(error.body));
        if (problem) throw new Error(`CSW exception at ${where}: ${problem}`);
      } catch (parsed) {
        if (!(parsed instanceof XmlError)) throw parsed;
      }
    }
    throw error;
  }
}

/** The base URL of a service, without the query the operator may have pasted. */
function serviceBase(url: string): string {
  const u = new URL(url);
  for (const k of [...u.searchParams.keys()]) {
    if (["service", "request", "version", "acceptversions"].includes(k.toLowerCase())) u.searchParams.delete(k);
  }
  return u.href;
}

function withParams(base: string, params: Record<string, string>): string {
  const u = new URL(base);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

/** What GetCapabilities says, from its document. */
function readCapabilities(root: XmlElement, base: string): CswCapabilities {
  const declared = attr(root, "version") ?? "";
  const version = declared === "3.0.0" || (root.uri === CSW_NS["3.0.0"] && !declared) ? "3.0.0" : "2.0.2";
  const op = all(root, "//ows:Operation").find((o) => attr(o, "name") === "GetRecords");
  const get = op && first(op, "ows:DCP/ows:HTTP/ows:Get");
  const href = attr(get, "href");
  const params = op ? all(op, "ows:Parameter") : [];
  const schemas = params.filter((p) => /outputschema/i.test(attr(p, "name") ?? "")).flatMap((p) =>
    texts(p, "//ows:Value")
  );
  const constraints = all(root, "//ows:Constraint").filter((c) => /queryables/i.test(attr(c, "name") ?? ""))
    .flatMap((c) => texts(c, "//ows:Value"));
  return {
    version,
    getUrl: href && /^https?:/.test(href) ? serviceBase(href) : base,
    isoOutput: schemas.length === 0 || schemas.includes(ISO_SCHEMA),
    modifiedQueryable: constraints.some((q) => /(^|:)modified$/i.test(q)),
    title: texts(root, "//ows:ServiceIdentification/ows:Title")[0] ?? "",
  };
}

/** The validators of a capabilities document, with what was read from it (reused after a 304). */
type CapabilitiesValidators = Validators & { capabilities?: CswCapabilities };

/**
 * Reads GetCapabilities: versions, the GET address, the ISO output schema and the queryables. With
 * `documents` (a gather's), the request is conditional, and a 304 reuses what the last read found.
 */
export async function cswCapabilities(
  http: GatherContext["http"],
  url: string,
  options: { version?: CswConfig["version"]; signal?: AbortSignal; documents?: DocumentValidators } = {},
): Promise<CswCapabilities> {
  const base = serviceBase(url);
  const { documents } = options;
  const ask = async (version: string): Promise<CswCapabilities> => {
    const capsUrl = withParams(base, { service: "CSW", request: "GetCapabilities", acceptversions: version });
    const previous = (await documents?.previous(capsUrl))?.validators as CapabilitiesValidators | undefined;
    const known = previous?.capabilities;
    try {
      const page = await owsGet(http, capsUrl, options.signal, "GetCapabilities", known ? previous : undefined);
      const root = parseXml(page.text);
      const problem = exceptionMessage(root);
      if (problem) throw new Error(`The server answered GetCapabilities with an exception: ${problem}`);
      if (root.local !== "Capabilities") {
        throw new Error(`Not CSW capabilities: the answer's root element is <${root.name}>`);
      }
      const capabilities = readCapabilities(root, base);
      documents?.remember(capsUrl, { ...page.validators, capabilities } as CapabilitiesValidators);
      return capabilities;
    } catch (error) {
      if (!(error instanceof NotModifiedError) || !known) throw error;
      documents!.notModified(capsUrl);
      return known;
    }
  };
  // One version at a time: a list ("3.0.0,2.0.2") is valid OWS, but pycsw 2.6 refuses it. A server
  // without 3.0.0 answers that request with an exception, or with its 2.0.2 capabilities.
  if (options.version === "2.0.2" || options.version === "3.0.0") return await ask(options.version);
  try {
    return await ask("3.0.0");
  } catch (error) {
    if (error instanceof BlockedUrlError) throw error;
    return await ask("2.0.2");
  }
}

/** The constraint parameters of a GetRecords request, the source's own and "modified since" together. */
function constraintParams(config: CswConfig, since: Date | undefined, version: string): Record<string, string> {
  const stamp = since?.toISOString().replace(/\.\d+Z$/, "Z");
  if (config.filter) {
    let filter = config.filter;
    if (stamp) {
      const fes = version === "3.0.0";
      const ns = fes ? 'xmlns:fes="http://www.opengis.net/fes/2.0"' : 'xmlns:ogc="http://www.opengis.net/ogc"';
      const p = fes ? "fes" : "ogc";
      const inner = filter.replace(/^\s*<[^>]*Filter[^>]*>/, "").replace(/<\/[^>]*Filter>\s*$/, "");
      const name = fes ? "ValueReference" : "PropertyName";
      filter = `<${p}:Filter ${ns}><${p}:And>${inner}<${p}:PropertyIsGreaterThanOrEqualTo><${p}:${name}>` +
        `apiso:Modified</${p}:${name}><${p}:Literal>${stamp}</${p}:Literal></${p}:PropertyIsGreaterThanOrEqualTo>` +
        `</${p}:And></${p}:Filter>`;
    }
    return { constraintLanguage: "FILTER", constraint_language_version: "1.1.0", constraint: filter };
  }
  const parts = [config.cql && `(${config.cql})`, stamp && `apiso:Modified >= '${stamp}'`].filter(Boolean);
  if (parts.length === 0) return {};
  return { constraintLanguage: "CQL_TEXT", constraint_language_version: "1.1.0", constraint: parts.join(" AND ") };
}

/** One GetRecords page: its records and where the next one starts (undefined: the last page). */
interface Page {
  records: XmlElement[];
  matched: number | undefined;
  next: number | undefined;
}

async function getRecordsPage(
  ctx: GatherContext,
  caps: CswCapabilities,
  params: Record<string, string>,
  start: number,
  size: number,
): Promise<Page> {
  const iso = params.outputSchema === ISO_SCHEMA;
  const url = withParams(caps.getUrl, {
    service: "CSW",
    version: caps.version,
    request: "GetRecords",
    typeNames: iso ? "gmd:MD_Metadata" : "csw:Record",
    namespace: iso ? `xmlns(gmd=${ISO_SCHEMA})` : `xmlns(csw=${CSW_NS[caps.version]})`,
    resultType: "results",
    elementSetName: iso ? "full" : "brief",
    startPosition: String(start),
    maxRecords: String(size),
    ...params,
  });
  const answer = await owsGet(ctx.http, url, ctx.signal, `startPosition ${start}`);
  const root = parseXml(answer.text);
  const problem = exceptionMessage(root);
  if (problem) throw new Error(`CSW exception at startPosition ${start}: ${problem}`);
  const results = first(root, "csw:SearchResults|csw30:SearchResults");
  if (!results) throw new Error(`Not a GetRecords answer at startPosition ${start}: <${root.name}>`);
  const records = elements(results);
  const int = (name: string) => {
    const v = Number(attr(results, name));
    return Number.isInteger(v) ? v : undefined;
  };
  const next = int("nextRecord");
  return { records, matched: int("numberOfRecordsMatched"), next: next && next > 0 ? next : undefined };
}

/** The identifier of a record of a page: an ISO file identifier, or a brief record's dc:identifier. */
function identifierOf(el: XmlElement): string {
  const standard = isoStandard(el);
  if (standard === "iso19139") return texts(el, "gmd:fileIdentifier/gco:CharacterString|gmx:Anchor")[0] ?? "";
  if (standard) return readIso(el).guid;
  return texts(el, "dc:identifier")[0] ?? "";
}

/** An ISO record's dateStamp, for the object's modification date. */
function dateStampOf(el: XmlElement): string | undefined {
  return texts(el, "gmd:dateStamp/gco:DateTime|gco:Date")[0] ?? undefined;
}

/**
 * Pages through GetRecords, yielding each page's records. Stops at the last page the server names,
 * at an empty page, or at an exception; answers whether the listing is known to be complete.
 */
async function* pages(
  ctx: GatherContext,
  caps: CswCapabilities,
  params: Record<string, string>,
  size: number,
  listing: { complete: boolean },
): AsyncGenerator<XmlElement[]> {
  let start = 1;
  let seen = 0;
  for (;;) {
    const page = await getRecordsPage(ctx, caps, params, start, size);
    if (page.records.length === 0) {
      // A server that promises more than it gives: the listing ends here, and is not trusted as whole.
      if (page.matched !== undefined && seen < page.matched) {
        ctx.log.warning(
          "CSW said {matched} records matched but returned none at startPosition {start}: the listing stops at {seen}",
          { matched: page.matched, start, seen },
        );
        listing.complete = false;
      }
      return;
    }
    seen += page.records.length;
    yield page.records;
    if (page.next === undefined) {
      // The last page, by the server's word; if it promised more, the listing is not trusted as whole.
      if (page.matched !== undefined && seen < page.matched) {
        ctx.log.warning("CSW said {matched} records matched but listed {seen}: not withdrawing on this listing", {
          matched: page.matched,
          seen,
        });
        listing.complete = false;
      }
      return;
    }
    // A nextRecord that does not move forward would read the same page for ever.
    start = page.next > start ? page.next : start + page.records.length;
  }
}

/** Capabilities read for fetches, a minute per source URL: a GetRecordById per record needs no GetCapabilities each. */
const CAPABILITIES = new Map<string, { at: number; caps: Promise<CswCapabilities> }>();

function cachedCapabilities(ctx: FetchContext, config: CswConfig): Promise<CswCapabilities> {
  const key = `${config.version ?? "auto"} ${ctx.source.url}`;
  const hit = CAPABILITIES.get(key);
  if (hit && Date.now() - hit.at < 60_000) return hit.caps;
  const caps = cswCapabilities(ctx.http, ctx.source.url, { version: config.version, signal: ctx.signal });
  caps.catch(() => CAPABILITIES.delete(key));
  if (CAPABILITIES.size > 1000) CAPABILITIES.clear();
  CAPABILITIES.set(key, { at: Date.now(), caps });
  return caps;
}

/** The `csw` harvester; `profiles` and `validators` add mappings and validation profiles. */
export function cswHarvester(options: { profiles?: IsoProfile[]; validators?: IsoValidator[] } = {}): Harvester {
  const mappings = new IsoMappings(options);
  const parse = (text: string) => parseDcatConfig(cswConfigSchema, text);
  return {
    info: () => ({
      name: "csw",
      title: "CSW Server",
      description: "Harvests ISO 19139 records from an OGC Catalogue Service for the Web (CSW 2.0.2 or 3.0.0), " +
        "page by page, with an optional constraint and incremental runs",
      form_config_interface: "Text",
    }),
    validateConfig(config) {
      mappings.check(parse(config) as IsoConfig);
      return config;
    },
    async checkUrl(url, http) {
      const caps = await cswCapabilities(http, url);
      if (!caps.isoOutput) {
        throw new Error(`The CSW server at ${url} does not offer ISO 19139 output (${ISO_SCHEMA})`);
      }
    },
    mappingVersion: (config) => mappings.mappingVersion("csw", config, cswConfigSchema),
    getOriginalUrl(object, source) {
      try {
        return withParams(serviceBase(source.url), {
          service: "CSW",
          version: "2.0.2",
          request: "GetRecordById",
          id: object.guid,
          outputSchema: ISO_SCHEMA,
          elementSetName: "full",
        });
      } catch {
        return undefined;
      }
    },
    async *gather(ctx) {
      const config = parse(ctx.source.config);
      const size = config.page_size ?? 100;
      let caps: CswCapabilities;
      try {
        caps = await cswCapabilities(ctx.http, ctx.source.url, {
          version: config.version,
          signal: ctx.signal,
          documents: ctx.documents,
        });
      } catch (error) {
        await ctx.saveGatherError(`Error reading the capabilities of ${ctx.source.url}: ${messageOf(error)}`);
        return;
      }
      const baseline = config.incremental === false || !caps.modifiedQueryable
        ? undefined
        : await ctx.lastErrorFreeJob();
      const listing = { complete: true };
      const seen = new Set<string>();
      try {
        const full = config.records_from !== "getrecordbyid";
        const isoParams = {
          outputSchema: ISO_SCHEMA,
          ...constraintParams(config, baseline?.gather_started, caps.version),
        };
        if (full) {
          for await (const records of pages(ctx, caps, isoParams, size, baseline ? { complete: true } : listing)) {
            const batch: GatheredRecord[] = [];
            for (const el of records) {
              const guid = identifierOf(el);
              if (!guid) {
                await ctx.saveGatherError(
                  "A record has no identifier (gmd:fileIdentifier is missing or empty): skipped, so it is not " +
                    "followed between runs",
                );
                listing.complete = false;
                continue;
              }
              seen.add(guid);
              batch.push({ guid, content: serialize(el), metadataModified: dateStampOf(el) });
            }
            if (batch.length) yield batch;
          }
        }
        if (baseline || !full) {
          // The identifiers of everything the constraint selects, so the listing stays complete: the
          // records read in full above are new or changed; the others did not change since the baseline.
          const briefParams = {
            outputSchema: CSW_NS[caps.version]!,
            ...constraintParams(config, undefined, caps.version),
          };
          for await (const records of pages(ctx, caps, briefParams, Math.max(size, 500), listing)) {
            const batch = records.map(identifierOf).filter((guid) => guid && !seen.has(guid))
              .map((guid): GatheredRecord => ({ guid, unchanged: full }));
            for (const r of batch) seen.add(r.guid);
            if (batch.length) yield batch;
          }
        }
      } catch (error) {
        await ctx.saveGatherError(messageOf(error));
        return;
      }
      ctx.reportListing(listing);
    },
    async fetch(ctx: FetchContext) {
      if (ctx.object.content) return true;
      const config = parse(ctx.source.config);
      try {
        const caps = await cachedCapabilities(ctx, config);
        const url = withParams(caps.getUrl, {
          service: "CSW",
          version: caps.version,
          request: "GetRecordById",
          id: ctx.object.guid,
          outputSchema: ISO_SCHEMA,
          elementSetName: "full",
        });
        const answer = await owsGet(ctx.http, url, ctx.signal, `GetRecordById ${ctx.object.guid}`);
        const root = parseXml(answer.text);
        const problem = exceptionMessage(root);
        if (problem) throw new Error(`CSW exception: ${problem}`);
        const record = isoStandard(root) ? root : elements(root).find((e) => isoStandard(e));
        if (!record) throw new Error(`GetRecordById answered no ISO record for ${ctx.object.guid}`);
        ctx.setContent(serialize(record));
        return true;
      } catch (error) {
        await ctx.saveObjectError(`Unable to get record ${ctx.object.guid}: ${messageOf(error)}`, "Fetch");
        return false;
      }
    },
    import: async (ctx) => await mappings.importRecord(ctx, parse(ctx.source.config) as IsoConfig),
  };
}
