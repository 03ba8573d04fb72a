/**
 * Bounded history (issue 20, part 5), through the CLI with the harvester task's flags: after many
 * runs, `trim-history` keeps the newest `keep_jobs` finished jobs and `keep_days` days of superseded
 * objects, never anything holding a dataset's current object, and the reports it keeps do not change.
 */
import { assert, assertEquals } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";

Deno.test("trim-history keeps the configured jobs and days, every current object, and the kept reports' numbers", async () => {
  await using db = await freshDatabase();
  const env = {
    DATABASE_URL: db.url,
    CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true",
    CKAN__HARVEST__HISTORY__KEEP_JOBS: "3",
    CKAN__HARVEST__HISTORY__KEEP_DAYS: "30",
  };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const catalog = sampleCatalog({ count: 5, seed: 3 });
  await using remote = serveCkanCatalog(catalog);
  assertEquals((await cli(["source", "create", "hist", remote.url, "ckan", "History"], env)).code, 0);
  for (let run = 0; run < 8; run++) {
    // One dataset changes between runs, so each job updates one and leaves four.
    catalog.datasets[run % 5]!.title = `Changed ${run}`;
    const r = await cli(["run-test", "hist"], env);
    assertEquals(r.code, 0, r.stderr);
  }
  await using services = await servicesOn(db.url);
  const { sql } = services;
  // The first five jobs' objects are from "long ago".
  const jobs = await sql<{ id: string }[]>`SELECT id FROM harvest_job ORDER BY created`;
  await sql`UPDATE harvest_object SET gathered = now() - interval '100 days'
    WHERE harvest_job_id = ANY(${jobs.slice(0, 5).map((j) => j.id)})`;
  const report = async (id: string) =>
    (await runAction(getAction("harvest_job_show")!, { services, actor: SITE_ACTOR }, { id }) as { stats: unknown })
      .stats;
  const statsBefore = new Map<string, unknown>();
  for (const j of jobs) statsBefore.set(j.id, await report(j.id));
  const currentBefore = await sql`SELECT id, package_id FROM harvest_object WHERE current ORDER BY id`;
  assertEquals(currentBefore.length, 5);

  const trimmed = await cli(["--json", "trim-history"], env);
  assertEquals(trimmed.code, 0, trimmed.stderr);
  const r = JSON.parse(trimmed.stdout);
  assertEquals([r.keep_jobs, r.keep_days], [3, 30]);
  assert(r.jobs > 0 && r.objects > 0, trimmed.stdout);

  // Every dataset keeps its current object: the link to its remote record.
  assertEquals(await sql`SELECT id, package_id FROM harvest_object WHERE current ORDER BY id`, currentBefore);
  // The newest three jobs stay, plus older ones only where they hold a current object.
  const kept = await sql<{ id: string; holds: boolean }[]>`
    SELECT j.id, EXISTS (SELECT 1 FROM harvest_object o WHERE o.harvest_job_id = j.id AND o.current) AS holds
    FROM harvest_job j ORDER BY j.created`;
  const newest = jobs.slice(-3).map((j) => j.id);
  for (const id of newest) assert(kept.some((k) => k.id === id), `job ${id} is one of the newest three`);
  for (const k of kept) {
    assert(newest.includes(k.id) || k.holds, `job ${k.id} is kept only because it holds a current object`);
  }
  // No superseded object older than keep_days is left.
  const [old] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM harvest_object WHERE NOT current AND gathered < now() - interval '30 days'`;
  assertEquals(old!.n, 0);
  // The reports of the jobs kept say what they said.
  for (const k of kept) assertEquals(await report(k.id), statsBefore.get(k.id), `job ${k.id}`);
  // And the next run still knows every dataset: all not modified.
  const again = await cli(["--json", "run-test", "hist"], env);
  assertEquals(JSON.parse(again.stdout).stats["not modified"], 5);
});
