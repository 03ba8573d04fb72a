/**
 * Conditional requests (issue 20, part 4), through the CLI with the harvester task's flags: a
 * document source sends If-None-Match / If-Modified-Since from its last error-free run, a 304 skips
 * the download and the parsing (counted in the job report), nothing is withdrawn, and a run after
 * errors reads the document again in full.
 */
import { assertEquals } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { dataJsonRecord } from "../src/demo/dcat_catalog.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";

Deno.test("a 304 skips the data.json and the DCAT file, withdraws nothing, and is counted; errors make the next run read in full", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  let version = 1;
  let records = [0, 1, 2].map((i) => dataJsonRecord(i));
  const seen: { path: string; conditional: string | null; status: number }[] = [];
  const ttl = () =>
    `@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://example.org/d1> a dcat:Dataset ; dct:title "One v${version}" ; dct:identifier "d1" .`;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    const etag = `"v${version}"`;
    const lastModified = new Date(Date.UTC(2024, 0, version)).toUTCString();
    const conditional = req.headers.get("if-none-match") ?? req.headers.get("if-modified-since");
    const unchanged = req.headers.get("if-none-match") === etag ||
      (path === "/catalog.ttl" && req.headers.get("if-modified-since") === lastModified);
    seen.push({ path, conditional, status: unchanged ? 304 : 200 });
    if (unchanged) return new Response(null, { status: 304 });
    if (path === "/data.json") {
      return new Response(JSON.stringify({ dataset: records }), {
        headers: { "Content-Type": "application/json", ETag: etag },
      });
    }
    return new Response(ttl(), { headers: { "Content-Type": "text/turtle", "Last-Modified": lastModified } });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const run = async (name: string) => JSON.parse((await cli(["--json", "run-test", name], env)).stdout);
    assertEquals((await cli(["source", "create", "dj", `${base}/data.json`, "dcat_json"], env)).code, 0);
    assertEquals((await run("dj")).stats.added, 3);
    const second = await run("dj");
    assertEquals([second.stats.added, second.stats.deleted, second.gatherErrors], [0, 0, []]);
    assertEquals(seen.at(-1), { path: "/data.json", conditional: '"v1"', status: 304 });
    await using services = await servicesOn(db.url);
    const act = (n: string, i: Record<string, unknown>) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
    const report = await act("harvest_job_report", { id: second.jobId }) as { documents_not_modified: number };
    assertEquals(report.documents_not_modified, 1);
    const status = await act("harvest_source_show_status", { id: "dj" }) as { total_datasets: number };
    assertEquals(status.total_datasets, 3, "a 304 withdraws nothing");
    // Still not modified on the next run: the validators carry over.
    await run("dj");
    assertEquals(seen.at(-1)!.status, 304);

    // A change is read in full.
    version = 2;
    records = [0, 1, 2].map((i) => ({ ...dataJsonRecord(i), title: `Changed ${i}` }));
    assertEquals((await run("dj")).stats.updated, 3);
    // A run with an error: the next one is not conditional, so the failed record is tried again.
    version = 3;
    records = [{ ...dataJsonRecord(0), keyword: undefined }, dataJsonRecord(1), dataJsonRecord(2)];
    assertEquals((await run("dj")).stats.errored, 1);
    await run("dj");
    assertEquals(seen.at(-1), { path: "/data.json", conditional: null, status: 200 });

    // A one-document DCAT catalog, by Last-Modified.
    assertEquals((await cli(["source", "create", "ttl", `${base}/catalog.ttl`, "dcat_rdf"], env)).code, 0);
    assertEquals((await run("ttl")).stats.added, 1);
    const again = await run("ttl");
    assertEquals(seen.at(-1)!.status, 304);
    assertEquals(
      (await act("harvest_job_show", { id: again.jobId }) as { documents_not_modified: number })
        .documents_not_modified,
      1,
    );
  } finally {
    await server.shutdown();
  }
});
