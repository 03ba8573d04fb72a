/** `node:assert/strict`, with the names the tests use. */
import assertStrict from "node:assert/strict";

export const assert: (value: unknown, message?: string) => asserts value = assertStrict.ok;
export const assertEquals = <T>(actual: unknown, expected: T, message?: string): void =>
  assertStrict.deepStrictEqual(actual, expected, message);
export const assertMatch = (actual: string, pattern: RegExp, message?: string): void =>
  assertStrict.match(actual, pattern, message);
export const assertRejects = assertStrict.rejects;
export const assertThrows = assertStrict.throws;
