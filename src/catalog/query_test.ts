import { assertEquals, assertThrows } from "../../tests/assert.ts";
import { ValidationError } from "../errors/mod.ts";
import { QueryCompiler } from "./query.ts";

Deno.test("QueryCompiler compiles field terms, negation, OR groups and ranges to parameterised SQL", () => {
  const c = new QueryCompiler("fq");
  const sql = c.compile(
    'organization:"a b" -tags:x (groups:g1 OR groups:g2) metadata_modified:[2024-01-01T00:00:00Z TO *]',
  );
  assertEquals(c.params, ["a b", "x", "g1", "g2", "2024-01-01T00:00:00.000Z"]);
  assertEquals(sql.includes("NOT EXISTS") || sql.includes("NOT (EXISTS") || sql.includes("NOT EXISTS ("), true);
  assertEquals(new QueryCompiler("fq").compile("*:*"), "TRUE");
  const offset = new QueryCompiler("fq", 3);
  assertEquals(offset.compile("name:x"), "p.name = $4");
});

Deno.test("QueryCompiler rejects what it cannot parse with a message naming the field", () => {
  for (const bad of ["nosuch:x", 'title:"open', "metadata_modified:[yesterday TO *]", "(name:x", "name:[a TO b]"]) {
    assertThrows(
      () => new QueryCompiler("fq").compile(bad),
      (e: Error) => e instanceof ValidationError && "fq" in e.fields,
    );
  }
});
