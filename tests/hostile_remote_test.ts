/**
 * Remotes that lie, loop or flood are bounded: every gather ends, with an error naming the limit it
 * reached and how to raise it, and a record too large to keep fails alone.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, servicesOn, testServices } from "./helpers.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { dcatDatasets, turtle } from "../src/demo/dcat_catalog.ts";
import type { Services } from "../src/services.ts";

type Dict = Record<string, unknown>;

/** A CKAN action API whose package_search pages are made by `page(start, rows)`, claiming `count` datasets. */
function lyingCkan(page: (start: number, rows: number) => Dict[], count = 1_000_000_000) {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    requests++;
    if (!url.pathname.endsWith("/package_search")) return Response.json({ success: false }, { status: 404 });
    const rows = Number(url.searchParams.get("rows") ?? 10);
    const start = Number(url.searchParams.get("start") ?? 0);
    return Response.json({ success: true, result: { count, results: rows === 0 ? [] : page(start, rows) } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const dataset = (id: string, notes = "") => ({ id, name: id, title: `Dataset ${id}`, notes, extras: [], tags: [] });

async function harvest(services: Services, name: string, url: string, type: string, config: Dict = {}) {
  const ctx = { services, actor: SITE_ACTOR };
  await runAction(getAction("harvest_source_create")!, ctx, { name, url, source_type: type, config, check_url: false });
  const started = Date.now();
  const summary = await runJobInProcess(ctx, await getSource(services.sql, name));
  return { summary, seconds: (Date.now() - started) / 1000 };
}

Deno.test("a CKAN that alternates pages A, B, A, B under a huge count is stopped at the first repeat", async () => {
  await using services = await testServices();
  await using remote = lyingCkan((start, rows) => {
    const which = Math.floor(start / rows) % 2;
    return Array.from({ length: rows }, (_, i) => dataset(`p${which}-${i}`));
  });
  const { summary, seconds } = await harvest(services, "alternating", remote.url, "ckan");
  assert(seconds < 30, `ended after ${seconds} s`);
  assertEquals(summary.stats.added, 200, JSON.stringify(summary.stats));
  assertMatch(summary.gatherErrors.join(" "), /paging doesn't seem to work: the remote served the same page again/);
  assert(remote.requests() < 10, `${remote.requests()} requests`);
});

Deno.test("DCAT pages at ever new URLs that repeat earlier content are a loop, caught by the framework", async () => {
  await using services = await testServices();
  const a = dcatDatasets(3);
  const b = dcatDatasets(5);
  let base = "";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const n = Number(new URL(req.url).searchParams.get("page") ?? 1);
    const body = turtle(n % 2 ? a : b, { next: `${base}/catalog.ttl?page=${n + 1}` });
    return new Response(body, { headers: { "Content-Type": "text/turtle" } });
  });
  base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const { summary } = await harvest(services, "dcat-loop", `${base}/catalog.ttl?page=1`, "dcat_rdf");
    assertMatch(summary.gatherErrors.join(" "), /The remote is looping: page 3 repeats page 1/);
    assertEquals(summary.stats.added, 5);
  } finally {
    await server.shutdown();
  }
});

Deno.test("max_pages and max_records end a flooding gather with an error that names the limit and how to raise it", async () => {
  await using services = await testServices();
  await using endless = lyingCkan((start, rows) => Array.from({ length: rows }, (_, i) => dataset(`e${start + i}`)));
  const pages = await harvest(services, "endless", endless.url, "ckan", { max_pages: 5 });
  assertMatch(pages.summary.gatherErrors.join(" "), /Stopped after 5 pages, the limit per job: set "max_pages"/);
  assertEquals(pages.summary.stats.added, 500);
  await using remote = serveCkanCatalog(sampleCatalog({ count: 300, seed: 1 }));
  const records = await harvest(services, "capped", remote.url, "ckan", { max_records: 50 });
  assertMatch(records.summary.gatherErrors.join(" "), /Stopped after 50 records, the limit per job: set "max_records"/);
  assertEquals(records.summary.stats.added, 50);
  // The site-wide default is a config key.
  const bad = await runAction(getAction("harvest_source_create")!, { services, actor: SITE_ACTOR }, {
    name: "bad-limit",
    url: `${remote.url}/x`,
    source_type: "ckan",
    config: { max_pages: -1 },
    check_url: false,
  }).then(() => "", (e: Error) => e.message);
  assertMatch(bad, /max_pages must be a positive number/);
});

Deno.test("a record over max_record_mb fails alone and is not stored; one just under it imports, with the tasks' heap cap", async () => {
  await using db = await freshDatabase();
  const catalog = sampleCatalog({ count: 20, seed: 3 });
  catalog.datasets[0]!.notes = "x".repeat(9 * 1024 * 1024); // over the default 8 MB
  catalog.datasets[1]!.notes = "y".repeat(7.5 * 1024 * 1024); // under it
  await using remote = serveCkanCatalog(catalog);
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  const created = await cli(["source", "create", "big-records", remote.url, "ckan"], env);
  assertEquals(created.code, 0, created.stderr);
  const run = await cli(["run-test", "big-records"], env);
  assertMatch(run.stdout, /19 added, 0 updated, 0 not modified, 0 deleted, 1 errored/, run.stdout + run.stderr);
  await using services = await servicesOn(db.url);
  const [err] = await services.sql<{ message: string; content: string | null }[]>`
    SELECT e.message, o.content FROM harvest_object_error e JOIN harvest_object o ON o.id = e.harvest_object_id`;
  assertMatch(err!.message, /is 9\.0 MB, over the limit of 8\.0 MB per record: not stored\. Set "max_record_mb"/);
  assertEquals(err!.content, null);
  const [big] = await services.sql<{ n: number }[]>`SELECT length(notes)::int AS n FROM package WHERE id = ${catalog
    .datasets[1]!.id as string}`;
  assertEquals(big!.n, 7.5 * 1024 * 1024);
});
