/**
 * Well-Known Text geometries (POINT, LINESTRING, POLYGON and their MULTI forms, optionally with an
 * SRID prefix or a CRS URI as GeoSPARQL writes it) as GeoJSON, for DCAT locn:geometry and
 * dcat:bbox literals. Anything else is undefined.
 *
 * @module
 */

type Position = number[];
type Coordinates = Position | Coordinates[];

const TYPES: Record<string, string> = {
  POINT: "Point",
  LINESTRING: "LineString",
  POLYGON: "Polygon",
  MULTIPOINT: "MultiPoint",
  MULTILINESTRING: "MultiLineString",
  MULTIPOLYGON: "MultiPolygon",
};

/** Nesting depth of each type's coordinates: a position is 0. */
const DEPTH: Record<string, number> = {
  Point: 0,
  LineString: 1,
  MultiPoint: 1,
  Polygon: 2,
  MultiLineString: 2,
  MultiPolygon: 3,
};

function parseList(text: string, at: { i: number }): Coordinates {
  // Either "( ... , ... )" of nested lists, or a bare position "x y".
  const skip = () => {
    while (at.i < text.length && /\s/.test(text[at.i]!)) at.i++;
  };
  skip();
  if (text[at.i] === "(") {
    at.i++;
    const items: Coordinates[] = [];
    for (;;) {
      items.push(parseList(text, at));
      skip();
      if (text[at.i] === ",") {
        at.i++;
        continue;
      }
      if (text[at.i] === ")") {
        at.i++;
        break;
      }
      throw new Error("unbalanced");
    }
    return items;
  }
  const m = /^[-+\d.eE]+(\s+[-+\d.eE]+)+/.exec(text.slice(at.i));
  if (!m) throw new Error("no position");
  at.i += m[0].length;
  const position = m[0].trim().split(/\s+/).map(Number);
  if (position.some((n) => !Number.isFinite(n))) throw new Error("not a number");
  return position;
}

function depthOf(c: Coordinates): number {
  return typeof c[0] === "number" ? 0 : 1 + depthOf(c[0] as Coordinates);
}

export function wktToGeoJson(wkt: string): { type: string; coordinates: Coordinates } | undefined {
  const text = wkt.trim().replace(/^<[^>]*>\s*/, "").replace(/^SRID=\d+;\s*/i, "");
  const m = /^([A-Za-z]+)\s*(?:Z|M|ZM)?\s*(\(.*\))$/s.exec(text);
  if (!m) return undefined;
  const type = TYPES[m[1]!.toUpperCase()];
  if (!type) return undefined;
  try {
    const at = { i: 0 };
    let coordinates = parseList(m[2]!, at);
    if (at.i !== m[2]!.length) return undefined;
    // POINT (x y) parses as a list of one position; MULTIPOINT may omit inner parentheses.
    if (type === "Point") coordinates = (coordinates as Coordinates[])[0]!;
    if (depthOf(coordinates) !== DEPTH[type]) return undefined;
    return { type, coordinates };
  } catch {
    return undefined;
  }
}
