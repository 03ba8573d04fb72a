/**
 * XML for the geospatial harvesters: documents parsed by saxes (a conformant XML parser that checks
 * well-formedness and namespaces) into small namespace-aware trees, looked up by
 * prefixed paths, and written back out with their namespace declarations, so a record cut from a
 * CSW page stands on its own.
 *
 * @module
 */
import { SaxesParser, type SaxesTagNS } from "saxes";

/** One element: its qualified name as written, namespace and local name, attributes and content. */
export interface XmlElement {
  name: string;
  uri: string;
  local: string;
  attrs: Record<string, { value: string; uri: string; local: string }>;
  children: XmlNode[];
  /** The namespace declarations in scope here (prefix to URI; "" for the default). */
  scope: Record<string, string>;
}
export type XmlNode = XmlElement | string;

/** Prefixes the lookups use; the document's own prefixes do not matter. */
export const NS: Record<string, string> = {
  gmd: "http://www.isotc211.org/2005/gmd",
  gco: "http://www.isotc211.org/2005/gco",
  gmx: "http://www.isotc211.org/2005/gmx",
  srv: "http://www.isotc211.org/2005/srv",
  gml: "http://www.opengis.net/gml",
  gml32: "http://www.opengis.net/gml/3.2",
  xlink: "http://www.w3.org/1999/xlink",
  csw: "http://www.opengis.net/cat/csw/2.0.2",
  csw30: "http://www.opengis.net/cat/csw/3.0",
  ows: "http://www.opengis.net/ows",
  ows11: "http://www.opengis.net/ows/1.1",
  ows20: "http://www.opengis.net/ows/2.0",
  ogc: "http://www.opengis.net/ogc",
  fes: "http://www.opengis.net/fes/2.0",
  dc: "http://purl.org/dc/elements/1.1/",
  dct: "http://purl.org/dc/terms/",
  // ISO 19115-3
  mdb: "http://standards.iso.org/iso/19115/-3/mdb/2.0",
  mcc: "http://standards.iso.org/iso/19115/-3/mcc/1.0",
  mri: "http://standards.iso.org/iso/19115/-3/mri/1.0",
  cit: "http://standards.iso.org/iso/19115/-3/cit/2.0",
  gex: "http://standards.iso.org/iso/19115/-3/gex/1.0",
  mrd: "http://standards.iso.org/iso/19115/-3/mrd/1.0",
  mrl: "http://standards.iso.org/iso/19115/-3/mrl/2.0",
  mco: "http://standards.iso.org/iso/19115/-3/mco/1.0",
  mrs: "http://standards.iso.org/iso/19115/-3/mrs/1.0",
  mmi: "http://standards.iso.org/iso/19115/-3/mmi/1.0",
  lan: "http://standards.iso.org/iso/19115/-3/lan/1.0",
  gco3: "http://standards.iso.org/iso/19115/-3/gco/1.0",
};

/** Not well-formed XML; the message names the line and column. */
export class XmlError extends Error {
  override name = "XmlError";
}

/** Parses a document into its root element; not well-formed XML throws an `XmlError`. */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let failure: Error | undefined;
  parser.on("error", (e) => {
    failure ??= e;
  });
  parser.on("opentag", (tag: SaxesTagNS) => {
    const parentScope = stack.at(-1)?.scope ?? {};
    const declared = tag.ns ?? {};
    const el: XmlElement = {
      name: tag.name,
      uri: tag.uri,
      local: tag.local,
      attrs: {},
      children: [],
      scope: Object.keys(declared).length ? { ...parentScope, ...declared } : parentScope,
    };
    for (const [name, a] of Object.entries(tag.attributes)) {
      if (name === "xmlns" || name.startsWith("xmlns:")) continue;
      el.attrs[name] = { value: a.value, uri: a.uri, local: a.local };
    }
    stack.at(-1)?.children.push(el);
    stack.push(el);
  });
  parser.on("text", (t) => {
    const top = stack.at(-1);
    if (top && t.length) top.children.push(t);
  });
  parser.on("cdata", (t) => {
    stack.at(-1)?.children.push(t);
  });
  parser.on("closetag", () => {
    const el = stack.pop()!;
    if (stack.length === 0) root = el;
  });
  try {
    parser.write(text).close();
  } catch (error) {
    failure ??= error as Error;
  }
  if (failure) throw new XmlError(`Not well-formed XML: ${failure.message}`);
  if (!root) throw new XmlError("Not well-formed XML: no root element");
  return root;
}

/** The element children of `el`. */
export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== "string");
}

/** Does `el` have this prefixed name (`gmd:title`, or `*` for any)? */
function matches(el: XmlElement, step: string): boolean {
  if (step === "*") return true;
  const i = step.indexOf(":");
  const uri = NS[step.slice(0, i)];
  const local = step.slice(i + 1);
  return el.local === local && (uri === undefined || el.uri === uri || sameFamily(el.uri, uri));
}

/** GML 3.1 and 3.2, and the OWS versions, are read alike. */
function sameFamily(a: string, b: string): boolean {
  return (a.startsWith("http://www.opengis.net/gml") && b.startsWith("http://www.opengis.net/gml")) ||
    (a.startsWith("http://www.opengis.net/ows") && b.startsWith("http://www.opengis.net/ows"));
}

/**
 * Every element under `el` at a path of prefixed names separated by `/`; a step may list
 * alternatives with `|` (`gmd:MD_DataIdentification|srv:SV_ServiceIdentification`), and `//` at the
 * start searches at any depth.
 */
export function all(el: XmlElement, path: string): XmlElement[] {
  if (path.startsWith("//")) {
    const out: XmlElement[] = [];
    const [first, ...rest] = path.slice(2).split("/");
    const walk = (e: XmlElement) => {
      for (const c of elements(e)) {
        if (first!.split("|").some((s) => matches(c, s))) {
          out.push(...(rest.length ? all(c, rest.join("/")) : [c]));
        }
        walk(c);
      }
    };
    walk(el);
    return out;
  }
  let current = [el];
  for (const step of path.split("/")) {
    const alternatives = step.split("|");
    current = current.flatMap((e) => elements(e).filter((c) => alternatives.some((s) => matches(c, s))));
    if (current.length === 0) break;
  }
  return current;
}

export function first(el: XmlElement, path: string): XmlElement | undefined {
  return all(el, path)[0];
}

/** The text content of an element, trimmed. */
export function text(el: XmlElement | undefined): string {
  if (!el) return "";
  let out = "";
  const walk = (e: XmlElement) => {
    for (const c of e.children) typeof c === "string" ? (out += c) : walk(c);
  };
  walk(el);
  return out.trim();
}

/** The trimmed texts at a path, empty ones left out. */
export function texts(el: XmlElement, path: string): string[] {
  return all(el, path).map(text).filter((t) => t.length > 0);
}

/** An attribute by its local name (any namespace). */
export function attr(el: XmlElement | undefined, local: string): string | undefined {
  if (!el) return undefined;
  for (const a of Object.values(el.attrs)) if (a.local === local) return a.value;
  return undefined;
}

const escapeText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, "&quot;").replace(/\r/g, "&#13;").replace(/\n/g, "&#10;");

/**
 * Writes an element out as a document of its own: the namespace declarations in scope where it was
 * (on the page around it, say) are declared on it.
 */
export function serialize(el: XmlElement): string {
  const write = (e: XmlElement, declare: Record<string, string>): string => {
    let out = `<${e.name}`;
    for (const [prefix, uri] of Object.entries(declare)) {
      out += prefix === "" ? ` xmlns="${escapeAttr(uri)}"` : ` xmlns:${prefix}="${escapeAttr(uri)}"`;
    }
    for (const [name, a] of Object.entries(e.attrs)) out += ` ${name}="${escapeAttr(a.value)}"`;
    if (e.children.length === 0) return `${out}/>`;
    out += ">";
    for (const c of e.children) {
      if (typeof c === "string") out += escapeText(c);
      else {
        // A child declares what it declares anew, relative to its parent's scope.
        const own: Record<string, string> = {};
        for (const [p, u] of Object.entries(c.scope)) if (e.scope[p] !== u) own[p] = u;
        out += write(c, own);
      }
    }
    return `${out}</${e.name}>`;
  };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${write(el, el.scope)}`;
}
