/**
 * The architecture, measured on the code (scripts/architecture.ts): no import circles, no import from
 * a lower layer up into a higher one, no source file over 500 lines, and SQL only in the module that
 * owns each table. Each check is also shown to catch a planted violation, so none of them can pass
 * by measuring nothing.
 */
import { assert, assertEquals } from "./assert.ts";
import { measure } from "../scripts/architecture.ts";

Deno.test("the import graph has no circles and no upward import, files stay small, SQL stays with its owner", async () => {
  const r = await measure();
  assert(r.files.size > 80, `only ${r.files.size} files measured`);
  assertEquals(r.circles, [], "import circles");
  assertEquals(r.upward, [], "imports from a lower layer into a higher one");
  assertEquals(r.oversized, [], "files over the size limit");
  assertEquals(r.sql, [], "SQL outside the owner of its table");
  // The harvest core never calls up into its adapters.
  for (const [file, { imports }] of r.files) {
    if (!file.startsWith("harvest/")) continue;
    for (const i of imports) assert(!i.to.startsWith("actions/"), `${file} imports ${i.to}`);
  }
});

Deno.test("each architecture check reports a planted violation", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = new URL(`file://${dir}/src/`);
    await new Deno.Command("cp", { args: ["-r", new URL("../src", import.meta.url).pathname, `${dir}/src`] }).output();
    const before = await measure(root);
    assertEquals([before.circles.length, before.upward.length, before.oversized.length, before.sql.length], [
      0,
      0,
      0,
      0,
    ]);
    // A core module calling up into the actions (an upward import, and with actions importing the core, a circle).
    const lifecycle = new URL("harvest/lifecycle.ts", root);
    await Deno.writeTextFile(
      lifecycle,
      `import { ACTIONS } from "../actions/mod.ts";\nexport const _planted = ACTIONS;\n` +
        await Deno.readTextFile(lifecycle),
    );
    // An adapter issuing SQL on a table it does not own, and a file grown past the limit.
    await Deno.writeTextFile(
      new URL("web/planted.ts", root),
      `export const q = (sql: any) => sql\`SELECT id FROM harvest_job WHERE status = 'New'\`;\n` +
        "// filler\n".repeat(520),
    );
    const after = await measure(root);
    assert(after.upward.some((u) => u.startsWith("harvest/lifecycle.ts")), `upward: ${after.upward}`);
    assert(after.circles.some((c) => c.includes("harvest/lifecycle.ts")), `circles: ${JSON.stringify(after.circles)}`);
    assert(after.sql.some((s) => s.startsWith("web/planted.ts issues SQL on harvest_job")), `sql: ${after.sql}`);
    assert(after.oversized.some((o) => o.startsWith("web/planted.ts")), `oversized: ${after.oversized}`);
    // A store writing another owner's table is reported too.
    await Deno.writeTextFile(
      new URL("harvest/jobs.ts", root),
      (await Deno.readTextFile(new URL("harvest/jobs.ts", root))) +
        "\nexport const w = (sql: any) => sql`UPDATE harvest_object SET state = 'ERROR'`;\n",
    );
    assert(
      (await measure(root)).sql.some((s) =>
        s === "harvest/jobs.ts writes harvest_object (owned by harvest/objects.ts)"
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
