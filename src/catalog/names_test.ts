import fc from "fast-check";
import { assertEquals, assertMatch } from "../../tests/assert.ts";
import { testServices } from "../../tests/helpers.ts";
import { ensureNameIsUnique, mungeTag, mungeTitleToName } from "./names.ts";

Deno.test("mungeTitleToName() and mungeTag() clean names and tags as CKAN does", () => {
  assertEquals(mungeTitleToName("Trees"), "trees");
  assertEquals(mungeTitleToName("Ça va: l'été/2020 data."), "ca-va-lete-2020-data");
  assertEquals(mungeTitleToName("x".repeat(101)), "x".repeat(95));
  assertEquals(mungeTitleToName(`${"long title ".repeat(12)}2014-15`).endsWith("-2014-15"), true);
  assertEquals(mungeTag("some spaces  here"), "some-spaces--here");
  assertEquals(mungeTag("random:other%characters&_.here"), "randomothercharactershere");
});

Deno.test("mungeTitleToName() leaves a clean name as the full munging would make it", () => {
  // A trailing space sends the same name through the folding, which ends by trimming the dash it became.
  const part = fc.string({ unit: fc.constantFrom("a", "z", "0", "_"), minLength: 1, maxLength: 14 });
  const clean = fc.array(part, { minLength: 1, maxLength: 10 }).map((parts) => parts.join("-"));
  const any = fc.string({ unit: fc.constantFrom("a", "z", "0", "_", "-"), maxLength: 120 });
  fc.assert(
    fc.property(fc.oneof(clean, any), (s) => assertEquals(mungeTitleToName(s), mungeTitleToName(`${s} `))),
    { numRuns: 5000 },
  );
});

Deno.test("ensureNameIsUnique() follows the original's test-backed examples", async () => {
  await using services = await testServices();
  const sql = services.sql;
  const take = (...names: string[]) =>
    sql`INSERT INTO package ${sql(names.map((name) => ({ id: crypto.randomUUID(), name })))}`;
  const ns = { append: "number-sequence" as const };
  assertEquals(await ensureNameIsUnique(sql, "trees", ns), "trees");
  await take("trees");
  assertEquals(await ensureNameIsUnique(sql, "trees", ns), "trees1");
  await take("trees1");
  assertEquals(await ensureNameIsUnique(sql, "trees", ns), "trees2");
  assertEquals(await ensureNameIsUnique(sql, "tree", { ...ns, existingName: "trees1" }), "tree");
  assertEquals(await ensureNameIsUnique(sql, "trees", { ...ns, existingName: "trees1" }), "trees1");
  await take("frogs");
  assertEquals(await ensureNameIsUnique(sql, "frogs", { ...ns, existingName: "trees2" }), "frogs1");
  await take("x".repeat(100));
  assertEquals(await ensureNameIsUnique(sql, "x".repeat(101), ns), "x".repeat(99) + "1");
  assertMatch((await ensureNameIsUnique(sql, "trees", { append: "random-hex" }))!, /^trees[0-9a-f]{5}$/);
  // Deleted datasets keep their names taken.
  await sql`UPDATE package SET state = 'deleted' WHERE name = 'frogs'`;
  assertEquals(await ensureNameIsUnique(sql, "frogs", ns), "frogs1");
});
