/**
 * A CSW endpoint for the csw harvester's tests, serving real ISO records over the KVP binding of
 * OGC 07-006r1 (CSW 2.0.2) and OGC 12-176r7 (3.0.0): GetCapabilities, GetRecords (startPosition,
 * maxRecords, nextRecord, ISO or brief Dublin Core output, a CQL or OGC Filter constraint on
 * `apiso:Modified`), GetRecordById, and exception reports. It is not a catalogue server: no CSW
 * implementation can be installed on these machines (none is in Debian or on npm; pycsw comes from
 * PyPI), so this one exists to make a server misbehave on purpose: lie about
 * numberOfRecordsMatched, repeat a page, answer an exception. The harvester was also run against
 * pycsw itself (README, "The geospatial harvesters").
 */

export interface CswRecord {
  id: string;
  /** The ISO document, with or without its XML declaration. */
  xml: string;
  modified: string;
}

export interface CswOptions {
  /** Also offer CSW 3.0.0 (answering in its namespace). */
  v3?: boolean;
  /** numberOfRecordsMatched to claim instead of the truth. */
  claimMatched?: number;
  /** Ignore startPosition: every page is the first. */
  repeatPages?: boolean;
  /** Never advance nextRecord (always 1). */
  stuckNextRecord?: boolean;
  /** Answer GetRecords at this startPosition with an exception report. */
  exceptionAt?: number;
  /** Do not list apiso:Modified as a queryable (no incremental runs). */
  noModifiedQueryable?: boolean;
  /** GetRecordById answers not-well-formed XML for these ids. */
  brokenIds?: string[];
}

const CSW2 = "http://www.opengis.net/cat/csw/2.0.2";
const CSW3 = "http://www.opengis.net/cat/csw/3.0";
const GMD = "http://www.isotc211.org/2005/gmd";

const strip = (xml: string) => xml.replace(/^\s*<\?xml[^>]*\?>\s*/, "");
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");

function exception(code: string, text: string, locator = ""): Response {
  return new Response(
    `<?xml version="1.0" encoding="UTF-8"?>
<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0">
  <ows:Exception exceptionCode="${code}"${locator ? ` locator="${locator}"` : ""}><ows:ExceptionText>${
      esc(text)
    }</ows:ExceptionText></ows:Exception>
</ows:ExceptionReport>`,
    { status: 400, headers: { "Content-Type": "application/xml" } },
  );
}

/** The records a constraint selects: `apiso:Modified >= 'T'` in CQL, or PropertyIsGreaterThanOrEqualTo in a Filter. */
function since(constraint: string | null): string | undefined {
  if (!constraint) return undefined;
  const cql = constraint.match(/apiso:Modified\s*>=\s*'([^']+)'/i);
  if (cql) return cql[1];
  const filter = constraint.match(
    /PropertyIsGreaterThanOrEqualTo>\s*<[^>]*(?:PropertyName|ValueReference)>apiso:Modified<\/[^>]+>\s*<[^>]*Literal>([^<]+)</,
  );
  return filter?.[1];
}

export function serveCsw(records: CswRecord[], options: CswOptions = {}) {
  const requests: URLSearchParams[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    const p = new URLSearchParams([...url.searchParams].map(([k, v]) => [k.toLowerCase(), v]));
    requests.push(p);
    const base = `${url.origin}${url.pathname}`;
    const version = p.get("version") ?? (p.get("acceptversions")?.includes("3.0.0") && options.v3 ? "3.0.0" : "2.0.2");
    const ns = version === "3.0.0" ? CSW3 : CSW2;
    const xmlWith = (headers: Record<string, string>, body: string) =>
      new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
        headers: { "Content-Type": "application/xml", ...headers },
      });
    const xml = (body: string) => xmlWith({}, body);
    if ((p.get("service") ?? "").toUpperCase() !== "CSW") {
      return exception("MissingParameterValue", "Missing keyword: service", "service");
    }
    switch ((p.get("request") ?? "").toLowerCase()) {
      case "getcapabilities": {
        const asked = p.get("acceptversions") ?? "";
        if (!options.v3 && asked === "3.0.0") {
          return exception(
            "VersionNegotiationFailed",
            "Invalid parameter value in acceptversions: 3.0.0",
            "acceptversions",
          );
        }
        const v = options.v3 && (asked || "3.0.0").includes("3.0.0") ? "3.0.0" : "2.0.2";
        const cns = v === "3.0.0" ? CSW3 : CSW2;
        const queryables = options.noModifiedQueryable ? "" : "<ows:Value>apiso:Modified</ows:Value>";
        // Capabilities carry an ETag and answer If-None-Match with 304, as a static document would.
        const etag = `"caps-${v}-${options.noModifiedQueryable ? "n" : "m"}"`;
        if (req.headers.get("if-none-match") === etag) {
          return new Response(null, { status: 304, headers: { ETag: etag } });
        }
        return xmlWith(
          { ETag: etag },
          `<csw:Capabilities xmlns:csw="${cns}" xmlns:ows="http://www.opengis.net/ows" xmlns:xlink="http://www.w3.org/1999/xlink" version="${v}">
  <ows:ServiceIdentification><ows:Title>Test catalogue</ows:Title><ows:ServiceType>CSW</ows:ServiceType>
    <ows:ServiceTypeVersion>2.0.2</ows:ServiceTypeVersion>${
            options.v3 ? "<ows:ServiceTypeVersion>3.0.0</ows:ServiceTypeVersion>" : ""
          }</ows:ServiceIdentification>
  <ows:OperationsMetadata>
    <ows:Operation name="GetRecords">
      <ows:DCP><ows:HTTP><ows:Get xlink:type="simple" xlink:href="${base}?"/></ows:HTTP></ows:DCP>
      <ows:Parameter name="outputSchema"><ows:Value>${cns}</ows:Value><ows:Value>${GMD}</ows:Value></ows:Parameter>
      <ows:Constraint name="SupportedISOQueryables"><ows:Value>apiso:Title</ows:Value>${queryables}</ows:Constraint>
    </ows:Operation>
    <ows:Operation name="GetRecordById">
      <ows:DCP><ows:HTTP><ows:Get xlink:type="simple" xlink:href="${base}?"/></ows:HTTP></ows:DCP>
    </ows:Operation>
  </ows:OperationsMetadata>
</csw:Capabilities>`,
        );
      }
      case "getrecords": {
        const start = Number(p.get("startposition") ?? 1);
        const max = Number(p.get("maxrecords") ?? 10);
        if (!Number.isInteger(start) || start < 1) {
          return exception("InvalidParameterValue", "startPosition", "startposition");
        }
        if (options.exceptionAt === start) {
          return exception("NoApplicableCode", "Database connection lost while reading records");
        }
        const from = since(p.get("constraint"));
        const selected = records.filter((r) => !from || r.modified >= from);
        const offset = options.repeatPages ? 0 : start - 1;
        const page = selected.slice(offset, offset + max);
        const after = offset + page.length;
        const next = options.stuckNextRecord ? 1 : after >= selected.length ? 0 : after + 1;
        const iso = p.get("outputschema") === GMD;
        const body = page.map((r) =>
          iso
            ? strip(r.xml)
            : `<csw:BriefRecord xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier>${
              esc(r.id)
            }</dc:identifier><dc:type>dataset</dc:type></csw:BriefRecord>`
        ).join("\n");
        return xml(`<csw:GetRecordsResponse xmlns:csw="${ns}" version="${version}">
  <csw:SearchStatus timestamp="${new Date().toISOString()}"/>
  <csw:SearchResults numberOfRecordsMatched="${
          options.claimMatched ?? selected.length
        }" numberOfRecordsReturned="${page.length}" nextRecord="${next}" recordSchema="${iso ? GMD : ns}" elementSet="${
          iso ? "full" : "brief"
        }">
${body}
  </csw:SearchResults>
</csw:GetRecordsResponse>`);
      }
      case "getrecordbyid": {
        const id = p.get("id") ?? "";
        const r = records.find((x) => x.id === id);
        if (!r) return exception("InvalidParameterValue", `No record with id ${id}`, "id");
        if (options.brokenIds?.includes(id)) {
          return xml(`<csw:GetRecordByIdResponse xmlns:csw="${ns}"><gmd:MD_Metadata`);
        }
        return xml(`<csw:GetRecordByIdResponse xmlns:csw="${ns}">\n${strip(r.xml)}\n</csw:GetRecordByIdResponse>`);
      }
      default:
        return exception("OperationNotSupported", `Operation ${p.get("request")} is not supported`, "request");
    }
  });
  const port = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}/csw`,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A real record made into `n` distinct ones: new identifiers, titles and dates, the rest as it was. */
export function copiesOf(template: string, templateId: string, n: number, prefix = "copy"): CswRecord[] {
  const stamp = template.match(/<gmd:dateStamp>\s*<gco:(?:DateTime|Date)>([^<]+)</)?.[1] ?? "2011-01-01";
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}-${String(i).padStart(5, "0")}`;
    const xml = template.replaceAll(templateId, id).replace(
      /(<gmd:title>\s*<gco:CharacterString>)([^<]*)/,
      `$1$2 #${i}`,
    );
    return { id, xml, modified: stamp };
  });
}
