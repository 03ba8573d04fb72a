/**
 * Politeness holds across processes: three workers (the CLI with the harvester task's flags) gather
 * six sources of one remote host at once, and the remote, which counts the requests it is answering,
 * never sees more than `ckan.harvest.http.per_host_concurrency` of them. Each worker alone would keep
 * to the limit; together, without the database's shared slots, they sent three at once.
 */
import { assert, assertEquals } from "./assert.ts";
import { cli, freshDatabase, Proc, servicesOn } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { countingProxy } from "./counting_proxy.ts";

/** A slow CKAN behind a proxy that counts the requests in flight. */
function countingRemote() {
  const upstream = serveCkanCatalog(sampleCatalog({ count: 250, seed: 7 }), { delayMs: 300 });
  const proxy = countingProxy(upstream.url);
  return {
    url: proxy.url,
    seen: proxy.seen,
    async close() {
      await proxy.server.shutdown();
      await upstream.close();
    },
  };
}

Deno.test("three workers gathering six sources of one host keep to the per-host limit together", async () => {
  await using db = await freshDatabase();
  const remote = countingRemote();
  const env = {
    DATABASE_URL: db.url,
    CKAN__SITE_ID: `hostlimit${crypto.randomUUID().slice(0, 8)}`,
    CKAN__HARVEST__ALLOWED_HOSTS: "127.0.0.1",
    CKAN__HARVEST__HTTP__PER_HOST_CONCURRENCY: "2",
    HARVEST_LOG_LEVEL: "warning",
  };
  const workers: Proc[] = [];
  try {
    assertEquals((await cli(["db", "upgrade"], env)).code, 0);
    for (let i = 0; i < 6; i++) {
      // Each source reads the catalog 50 rows a page: 5 pages of 300 ms each, one after another.
      const created = await cli(
        ["source", "create", `polite-${i}`, `${remote.url}/site-${i}`, "ckan", "", "", "", "MANUAL", '{"rows": 50}'],
        env,
      );
      assertEquals(created.code, 0, created.stderr);
    }
    for (let i = 0; i < 3; i++) workers.push(new Proc("cli.ts", ["worker", "--concurrency", "2"], env));
    for (const w of workers) await w.waitFor(/worker started/);
    // One command queues the six jobs at once.
    assertEquals((await cli(["job-all"], env)).code, 0);

    await using services = await servicesOn(db.url, env);
    const deadline = Date.now() + 90_000;
    let finished = 0;
    while (Date.now() < deadline) {
      const [row] = await services.sql<{ finished: number }[]>`
        SELECT count(*)::int AS finished FROM harvest_job WHERE status = 'Finished'`;
      finished = row!.finished;
      if (finished === 6) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assertEquals(finished, 6, workers.map((w) => w.output).join("\n"));
    const [row] = await services.sql<{ added: number }[]>`
      SELECT count(*)::int AS added FROM harvest_object WHERE report_status = 'added'`;
    assertEquals(row!.added, 6 * 250);
    // The gathers overlapped (more than one request at a time) but never beyond the shared limit.
    assert(remote.seen.total >= 6 * 5, `${remote.seen.total} requests`);
    assertEquals(remote.seen.most, 2, `at most ${remote.seen.most} requests in flight at once`);
    // Every slot was freed when its request ended.
    assertEquals([...await services.sql`SELECT host, slot FROM harvest_host_slot`], []);
  } finally {
    for (const w of workers) await w.stop("SIGTERM");
    await remote.close();
  }
});
