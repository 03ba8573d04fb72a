/**
 * Correctness without looking: a portal whose rows cap is below our page size is harvested whole, a
 * refused id-only listing falls back to a full one, held deletions follow the remote when it restores
 * what it removed, clearing history leaves kept jobs' reports alone, and the seed's CLI form works.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

type Dict = Record<string, unknown>;

Deno.test("a CKAN whose ckan.search.rows_max is 100 is harvested whole, asked for 1000 rows a page or for the default", async () => {
  await using db = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 300, seed: 11 }), { rowsMax: 100 });
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  await cli(["source", "create", "capped", remote.url, "ckan", "", "", "", "MANUAL", '{"rows": 1000}'], env);
  const run = await cli(["run-test", "capped"], env);
  assertMatch(run.stdout, /300 added, 0 updated, 0 not modified, 0 deleted, 0 errored/, run.stderr);
  const starts = remote.requests.filter((r) => r.path.endsWith("package_search") && r.params.has("start")).map((r) =>
    r.params.get("start")
  );
  assertEquals(starts.slice(0, 3), ["0", "100", "200"], "paged by the rows the remote returned");
  // The seed's own form creates (and shows) a source; the default page size is the original's 100.
  const seed = await cli(["source", "capped-default", remote.url, "ckan", "Capped, default rows"], env);
  assertEquals(seed.code, 0, seed.stderr);
  assertMatch(seed.stdout, /Created new harvest source/);
  const shown = await cli(["source", "capped-default"], env);
  assertEquals(shown.code, 0, shown.stderr);
  assertMatch(shown.stdout, /Capped, default rows/);
  assertMatch((await cli(["run-test", "capped-default"], env)).stdout, /300 added, 0 updated/);
});

Deno.test("an incremental run against a CKAN that refuses the id-only listing falls back to a full listing", async () => {
  await using db = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 60, seed: 4 }), { refuseFl: true });
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  await cli(["source", "create", "nofl", remote.url, "ckan"], env);
  assertMatch((await cli(["run-test", "nofl"], env)).stdout, /60 added/);
  remote.catalog.datasets[0]!.title = "Changed";
  remote.catalog.datasets[0]!.metadata_modified = new Date().toISOString().replace("Z", "");
  const run = await cli(["run-test", "nofl"], env);
  assertMatch(run.stdout, /0 added, 1 updated, 59 not modified, 0 deleted, 0 errored/, run.stdout + run.stderr);
  assert(!/Gather error/.test(run.stdout), run.stdout);
  assert(remote.requests.some((r) => r.params.get("fl")), "the id-only listing was tried first");
});

Deno.test("held deletions are dropped when the remote lists the records again, and approval withdraws nothing it lists", async () => {
  await using db = await freshDatabase();
  const catalog = sampleCatalog({ count: 40, seed: 9 });
  await using remote = serveCkanCatalog(catalog);
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  await cli(["source", "create", "shrinks", remote.url, "ckan"], env);
  assertMatch((await cli(["run-test", "shrinks"], env)).stdout, /40 added/);
  const all = [...catalog.datasets];
  catalog.datasets = all.slice(0, 20); // half gone: more than the 20 % threshold, so held
  assertMatch((await cli(["run-test", "shrinks"], env)).stdout, /0 deleted/);
  await using services = await servicesOn(db.url);
  const held = () =>
    services.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM harvest_pending_deletion WHERE status = 'pending'`.then((r) => r[0]!.n);
  assertEquals(await held(), 20);
  catalog.datasets = all; // restored
  assertMatch((await cli(["run-test", "shrinks"], env)).stdout, /0 added, 0 updated, 40 not modified, 0 deleted/);
  assertEquals(await held(), 0, "the restored records' held deletions are gone");
  const approve = await cli(["deletions", "approve", "shrinks"], env);
  assertEquals(approve.code, 0, approve.stderr);
  const [active] = await services.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM package WHERE state = 'active'`;
  assertEquals(active!.n, 40, "approving withdraws nothing the remote lists");
});

Deno.test("clearsource_history never changes the report of a job it keeps", async () => {
  await using db = await freshDatabase();
  const catalog = sampleCatalog({ count: 30, seed: 2 });
  await using remote = serveCkanCatalog(catalog);
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  await cli(["source", "create", "hist", remote.url, "ckan", "", "", "", "MANUAL", '{"force_all": true}'], env);
  await cli(["run-test", "hist"], env);
  for (const d of catalog.datasets.slice(0, 7)) {
    d.title = `${d.title} (changed)`;
    d.metadata_modified = new Date().toISOString().replace("Z", "");
  }
  await cli(["run-test", "hist"], env);
  await cli(["run-test", "hist"], env);
  const reports = async () => {
    const r = await cli(["--json", "jobs", "hist"], env);
    return new Map((JSON.parse(r.stdout) as Dict[]).map((j) => [j.id as string, JSON.stringify(j.stats)]));
  };
  const before = await reports();
  assertEquals(before.size, 3);
  const cleared = await cli(["clearsource_history", "hist"], env);
  assertEquals(cleared.code, 0, cleared.stderr);
  const after = await reports();
  assert(after.size >= 1 && after.size < 3, `some jobs were cleared (${after.size} kept)`);
  for (const [id, stats] of after) assertEquals(stats, before.get(id), `job ${id} kept its report`);
});
