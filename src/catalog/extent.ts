/**
 * The extent of a dataset: the bounding box of its `spatial` extra (GeoJSON, as ckanext-spatial
 * stores it), and the `ext_bbox` search parameter, both as PostgreSQL `box` values.
 *
 * @module
 */
import { ValidationError } from "../errors/mod.ts";

/** The coordinates' bounding box, as a box literal; undefined when the value is no usable GeoJSON. */
export function extentOf(spatial: unknown): string | undefined {
  if (typeof spatial !== "string" || !spatial.trim().startsWith("{")) return undefined;
  let geometry: { coordinates?: unknown; geometries?: unknown[]; geometry?: unknown };
  try {
    geometry = JSON.parse(spatial);
  } catch {
    return undefined;
  }
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const visit = (c: unknown, depth: number) => {
    if (depth > 6 || !Array.isArray(c)) return;
    if (c.length >= 2 && typeof c[0] === "number" && typeof c[1] === "number") {
      const [x, y] = c as number[];
      if (!Number.isFinite(x) || !Number.isFinite(y) || Math.abs(x!) > 180 || Math.abs(y!) > 90) return;
      minX = Math.min(minX, x!), maxX = Math.max(maxX, x!), minY = Math.min(minY, y!), maxY = Math.max(maxY, y!);
      return;
    }
    for (const x of c) visit(x, depth + 1);
  };
  visit(geometry.coordinates, 0);
  for (const g of Array.isArray(geometry.geometries) ? geometry.geometries.slice(0, 100) : []) {
    visit((g as { coordinates?: unknown })?.coordinates, 0);
  }
  if (geometry.geometry) visit((geometry.geometry as { coordinates?: unknown }).coordinates, 0);
  if (!Number.isFinite(minX)) return undefined;
  return `(${maxX},${maxY}),(${minX},${minY})`;
}

/** Reads `ext_bbox=minx,miny,maxx,maxy` (ckanext-spatial's form) as a box literal, or says what is wrong. */
export function parseBbox(value: string): string {
  const parts = value.split(",").map((p) => p.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 4 || parts.some((p) => p === "") || numbers.some((n) => !Number.isFinite(n))) {
    throw ValidationError.of("ext_bbox", "Must be four numbers: minx,miny,maxx,maxy (e.g. -10.5,35,5,44)");
  }
  const [minX, minY, maxX, maxY] = numbers as [number, number, number, number];
  if (minX < -180 || maxX > 180 || minY < -90 || maxY > 90) {
    throw ValidationError.of("ext_bbox", "Longitudes must be within -180..180 and latitudes within -90..90");
  }
  if (minX > maxX || minY > maxY) {
    throw ValidationError.of("ext_bbox", "minx must not exceed maxx, nor miny maxy");
  }
  return `(${maxX},${maxY}),(${minX},${minY})`;
}
