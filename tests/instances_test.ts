import { assert, assertEquals, assertMatch } from "./assert.ts";
import { callApi, cli, freshDatabase, Proc, serve, tempDir } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

type Dict = Record<string, unknown>;

async function allDatasets(base: string): Promise<Dict[]> {
  const out: Dict[] = [];
  for (let start = 0;; start += 1000) {
    const r = await callApi(base, "package_search", { rows: "1000", start: String(start), sort: "name asc" }, {
      method: "GET",
    });
    const page = (r.body.result as { results: Dict[] }).results;
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

function shape(d: Dict) {
  return {
    id: d.id,
    name: d.name,
    title: d.title,
    notes: d.notes,
    tags: (d.tags as Dict[]).map((t) => t.name),
    extras: (d.extras as Dict[]).filter((e) => !String(e.key).startsWith("harvest_")),
    resources: (d.resources as Dict[]).map((r) => ({ id: r.id, url: r.url, name: r.name, format: r.format })),
  };
}

Deno.test("one instance harvests another through its CKAN-compatible API and reproduces its catalog", async () => {
  await using dbA = await freshDatabase();
  await using dbB = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 1200, seed: 11 }));
  const envA = { DATABASE_URL: dbA.url };
  const envB = { DATABASE_URL: dbB.url };
  await cli(["db", "upgrade"], envA);
  await cli([
    "source",
    "create",
    "upstream",
    remote.url,
    "ckan",
    "Upstream",
    "",
    "",
    "MANUAL",
    '{"remote_orgs": "create", "remote_groups": "create"}',
  ], envA);
  assertMatch((await cli(["run-test", "upstream"], envA)).stdout, /1200 added/);

  const a = await serve(envA);
  try {
    await cli(["db", "upgrade"], envB);
    const created = await cli(["source", "create", "instance-a", a.url, "ckan"], envB);
    assertEquals(created.code, 0, created.stderr);
    const first = await cli(["run-test", "instance-a"], envB);
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /1200 added, 0 updated, 0 not modified, 0 deleted, 0 errored/);

    const b = await serve(envB);
    try {
      const inA = await allDatasets(a.url);
      const inB = await allDatasets(b.url);
      assertEquals(inB.length, 1200);
      assertEquals(inB.map(shape), inA.map(shape));
      const one = inB[0]!;
      assertEquals(one.harvest_source_title, "instance-a");
      assert(typeof one.harvest_object_id === "string");
      // A's harvest fields describe A's harvest and are not copied: B's extras carry B's own.
      const harvestExtras = (one.extras as Dict[]).filter((e) => String(e.key).startsWith("harvest_"));
      assertEquals(harvestExtras, [
        { key: "harvest_object_id", value: one.harvest_object_id },
        { key: "harvest_source_id", value: one.harvest_source_id },
        { key: "harvest_source_title", value: "instance-a" },
      ]);
    } finally {
      await b.proc.stop();
    }
    const second = await cli(["run-test", "instance-a"], envB);
    assertMatch(second.stdout, /0 added, 0 updated, 1200 not modified, 0 deleted, 0 errored/);
  } finally {
    await a.proc.stop();
  }
});

Deno.test("embedded mode: the CLI started beside a running server reaches its database through the socket", async () => {
  using dir = tempDir();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 40, seed: 5 }));
  const env = { HARVEST_DATA_DIR: dir.path };
  const server = await serve(env);
  try {
    const created = await cli(["source", "create", "beside", remote.url, "ckan"], env);
    assertEquals(created.code, 0, created.stderr);
    assertMatch(
      created.stderr,
      /Using the embedded database in .* held by process \d+: connected through its socket 127\.0\.0\.1:\d+/,
    );
    const run = await cli(["run-test", "beside"], env);
    assertEquals(run.code, 0, run.stderr);
    assertMatch(run.stdout, /40 added/);
    const search = await callApi(server.url, "package_search", { rows: "0" }, { method: "GET" });
    assertEquals((search.body.result as Dict).count, 40);
  } finally {
    const status = await server.proc.stop("SIGTERM");
    assertEquals(status.code, 0);
  }
  // With the server gone, the CLI opens the files itself.
  const alone = await cli(["sources"], env);
  assertEquals(alone.code, 0, alone.stderr);
  assert(!alone.stderr.includes("held by process"));
  assertMatch(alone.stdout, /beside/);
});

Deno.test("demo harvests the bundled sample catalog, serves it, and a second run reports it not modified", async () => {
  using dir = tempDir();
  const env = { HARVEST_DATA_DIR: dir.path, PORT: "0" };
  for (
    const expected of [
      /520 added, 0 updated, 0 not modified, 0 deleted, 0 errored/,
      /0 added, 0 updated, 520 not modified/,
    ]
  ) {
    const demo = new Proc("src/demo/mod.ts", [], env);
    try {
      await demo.waitFor(/Press Ctrl-C to stop/, 120_000);
      assertMatch(demo.output, expected);
      const url = demo.output.match(/(http:\/\/127\.0\.0\.1:\d+)\/api\/3\/action\/package_search\?rows=5/)![1]!;
      const r = await callApi(url, "package_search", { rows: "5" }, { method: "GET" });
      assertEquals((r.body.result as Dict).count, 520);
      const orgs = new Set((await allDatasets(url)).map((d) => (d.organization as Dict | null)?.name));
      assert(orgs.size >= 5, "datasets span several organizations");
    } finally {
      const status = await demo.stop("SIGINT");
      assertEquals(status.code, 0, demo.output);
    }
  }
});
