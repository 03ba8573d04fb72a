/** Deepest nesting of objects and arrays accepted in a request body or a JSON-valued field. */
export const MAX_JSON_DEPTH = 64;

/**
 * How deeply a JSON text nests objects and arrays, read without parsing it (strings skipped), so a
 * body nested 10,000 deep is refused before anything recurses over it (parsers, validators and
 * `JSON.stringify` would exhaust the stack: "Maximum call stack size exceeded", a 500). Stops
 * counting past `limit`.
 */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}
