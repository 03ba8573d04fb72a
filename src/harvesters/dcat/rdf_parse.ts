/**
 * Parsing RDF in its four common syntaxes into quads (RDF/JS terms), and choosing the syntax from a
 * config value, a content type or the document itself.
 *
 * @module
 */
import type { Quad } from "n3";
import type { HttpClient } from "../../http/mod.ts";

export type RdfFormat = "application/rdf+xml" | "text/turtle" | "application/ld+json" | "application/n-triples";

export const RDF_FORMATS: Record<string, RdfFormat> = {
  "application/rdf+xml": "application/rdf+xml",
  xml: "application/rdf+xml",
  rdfxml: "application/rdf+xml",
  "text/turtle": "text/turtle",
  turtle: "text/turtle",
  ttl: "text/turtle",
  "application/ld+json": "application/ld+json",
  jsonld: "application/ld+json",
  "json-ld": "application/ld+json",
  "application/n-triples": "application/n-triples",
  ntriples: "application/n-triples",
  nt: "application/n-triples",
};

/** The syntax of a document: the configured one, else its content type, else a look at its start. */
export function detectFormat(configured: string | undefined, contentType: string, text: string): RdfFormat {
  if (configured) return RDF_FORMATS[configured.toLowerCase()]!;
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (RDF_FORMATS[type]) return RDF_FORMATS[type]!;
  if (type === "application/json") return "application/ld+json";
  const start = text.trimStart();
  if (start.startsWith("<?xml") || /^<rdf:RDF/i.test(start)) return "application/rdf+xml";
  if (start.startsWith("{") || start.startsWith("[")) return "application/ld+json";
  return "text/turtle";
}

function collect(
  parser: { on(event: string, fn: (x: never) => void): unknown; write(s: string): unknown; end(): unknown },
  text: string,
): Promise<Quad[]> {
  return new Promise((resolve, reject) => {
    const quads: Quad[] = [];
    parser.on("data", (q: never) => quads.push(q));
    parser.on("error", (e: never) => reject(e));
    parser.on("end", () => resolve(quads));
    parser.write(text);
    parser.end();
  });
}

/**
 * Parses a document; a syntax error becomes an Error naming the syntax and the problem. A JSON-LD
 * document's remote `@context` is loaded only when `http` is given (the source's `remote_contexts`),
 * and then through the guarded client; otherwise it is refused, so a hostile document cannot make the
 * service fetch anything, local or remote.
 */
export async function parseRdf(text: string, format: RdfFormat, baseIRI: string, http?: HttpClient): Promise<Quad[]> {
  try {
    // The parsers load on first use: processes that never read RDF do not carry them.
    if (format === "text/turtle" || format === "application/n-triples") {
      const { Parser: N3Parser } = await import("n3");
      return new N3Parser({ format: format === "text/turtle" ? "text/turtle" : "N-Triples", baseIRI }).parse(text);
    }
    if (format === "application/rdf+xml") {
      const { RdfXmlParser } = await import("rdfxml-streaming-parser");
      return await collect(new RdfXmlParser({ baseIRI }) as never, text);
    }
    const documentLoader = {
      load: async (url: string) => {
        if (!http) {
          throw new Error(
            `the JSON-LD context ${url.slice(0, 200)} is not loaded: remote contexts are off; inline the context, ` +
              `or set "remote_contexts": true in the source config`,
          );
        }
        return await http.getJson(url, { what: "JSON-LD context" }) as never;
      },
    };
    const { JsonLdParser } = await import("jsonld-streaming-parser");
    return await collect(new JsonLdParser({ baseIRI, documentLoader }) as never, text);
  } catch (error) {
    throw new Error(`Could not parse the ${format} document: ${(error as Error).message}`);
  }
}
