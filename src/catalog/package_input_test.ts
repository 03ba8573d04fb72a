import fc from "fast-check";
import { assert, assertEquals } from "../../tests/assert.ts";
import { PackageInputError, readPackageInput } from "./package_input.ts";

const issuesOf = (input: unknown) => {
  try {
    readPackageInput(input);
  } catch (error) {
    if (error instanceof PackageInputError) return error.issues;
    throw error;
  }
  throw new Error("accepted");
};

Deno.test("readPackageInput() reads CKAN's lenient shapes and passes unknown keys through", () => {
  const pkg = readPackageInput({
    name: "trees",
    title: 2024,
    private: "True",
    tags: ["oak", { name: "elm", vocabulary_id: null, display_name: "Elm" }],
    groups: ["parks", { id: "g1", title: "Kept" }],
    extras: { frequency: "daily", bbox: [1, 2], none: null },
    resources: [{ url: "https://example.org/a.csv", size: "12", format: 5, url_type: null, custom: { a: 1 } }],
    license_title: "Open",
  });
  assertEquals(pkg.title, "2024");
  assertEquals(pkg.private, true);
  assertEquals(pkg.notes, null, "text fields are null when absent");
  assertEquals(pkg.tags, [{ name: "oak", vocabulary_id: null }, { name: "elm", vocabulary_id: null }]);
  assertEquals(pkg.groups, [{ id: undefined, name: "parks" }, { id: "g1", title: "Kept" }]);
  assertEquals(pkg.extras, [
    { key: "frequency", value: "daily" },
    { key: "bbox", value: "[1,2]" },
    { key: "none", value: "null" },
  ]);
  const r = pkg.resources![0]!;
  assertEquals([r.size, r.format, r.name, r.url_type, r.custom], [12, "5", null, null, { a: 1 }]);
  assertEquals(pkg.license_title, "Open");
  assertEquals(readPackageInput({}).private, false);
  assertEquals(Object.keys(readPackageInput({ id: "x", zeta: 1 })).at(-1), "zeta", "unknown keys come last");
});

Deno.test("readPackageInput() names every field that is wrong, and what is wrong with it", () => {
  assertEquals(
    issuesOf({
      id: "",
      title: { nested: true },
      private: "yes",
      state: "gone",
      tags: [{ name: 5 }],
      groups: [3],
      extras: [{ key: "" }, { key: "k" }],
      resources: [{ size: "1.5" }, "x"],
    }).map(([field]) => field),
    [
      "id",
      "title",
      "private",
      "state",
      "tags.0",
      "groups.0",
      "extras.0.key",
      "extras.1.value",
      "resources.0.size",
      "resources.1",
    ],
  );
  assertEquals(issuesOf({ tags: "a" }), [["tags", "expected a list"]]);
  assertEquals(issuesOf({ resources: [{ size: -Infinity }] }), [["resources.0.size", "expected a number of bytes"]]);
  assertEquals(issuesOf([]), [["", "expected an object"]]);
  assertEquals(issuesOf(null), [["", "expected an object"]]);
});

Deno.test("readPackageInput() answers any JSON with a dataset or a PackageInputError, never another failure", () => {
  fc.assert(
    fc.property(
      fc.jsonValue(),
      fc.dictionary(fc.constantFrom("tags", "groups", "extras", "resources", "private", "title", "id"), fc.jsonValue()),
      (any, fields) => {
        for (const input of [any, fields]) {
          try {
            const pkg = readPackageInput(input);
            assert(typeof pkg.private === "boolean");
            for (const e of pkg.extras ?? []) assert(typeof e.key === "string" && typeof e.value === "string");
            for (const t of pkg.tags ?? []) assert(typeof t.name === "string");
          } catch (error) {
            assert(error instanceof PackageInputError, String(error));
            assert(error.issues.length > 0);
          }
        }
      },
    ),
    { numRuns: 2000 },
  );
});
