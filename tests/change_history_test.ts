/**
 * Change history (issue 20, part 2): every update keeps its field-level diff, readable through
 * harvest_dataset_history, summed up in the job report, and shown on the record page. Harvested
 * through the CLI with the harvester task's flags, from a real CKAN-shaped server.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { createApp } from "../src/api/mod.ts";

type Dict = Record<string, unknown>;

Deno.test("an update keeps what it changed: the dataset's history, the job report's summary and the record page say it", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const catalog = sampleCatalog({ count: 4, seed: 9 });
  await using remote = serveCkanCatalog(catalog);
  assertEquals((await cli(["source", "create", "hist", remote.url, "ckan"], env)).code, 0);
  assertEquals(JSON.parse((await cli(["--json", "run-test", "hist"], env)).stdout).stats.added, 4);

  const d0 = catalog.datasets[0]! as Dict;
  const d1 = catalog.datasets[1]! as Dict;
  const oldTitle = d0.title;
  d0.title = "A new title";
  d0.tags = [...(d0.tags as Dict[]), { name: "brand-new-tag" }];
  d1.title = "Another new title";
  // The CKAN harvester asks for what changed since its last run: the remote says these did.
  d0.metadata_modified = d1.metadata_modified = new Date().toISOString().slice(0, 19);
  const second = JSON.parse((await cli(["--json", "run-test", "hist"], env)).stdout);
  assertEquals(second.stats.updated, 2, JSON.stringify(second.stats));

  await using services = await servicesOn(db.url);
  const act = (n: string, i: Dict) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
  const history = await act("harvest_dataset_history", { id: d0.name as string }) as {
    status: string;
    job_id: string;
    object_id: string;
    changes: { field: string; before?: unknown; after?: unknown }[];
  }[];
  assertEquals(history.map((h) => h.status), ["updated", "added"]);
  const changes = Object.fromEntries(history[0]!.changes.map((c) => [c.field, c]));
  assertEquals([changes.title?.before, changes.title?.after], [oldTitle, "A new title"]);
  assertEquals([changes.tags?.before, changes.tags?.after], [[], ["brand-new-tag"]]);
  assert(!history[0]!.changes.some((c) => c.field.startsWith("extras.harvest_")), "harvest bookkeeping is no change");

  const report = await act("harvest_job_report", { id: second.jobId }) as { changes: Record<string, number> };
  assertEquals(report.changes, { title: 2, tags: 1 });

  const app = createApp(services);
  const page = await (await app.request(`/harvest/object/${history[0]!.object_id}`)).text();
  assertMatch(page, /What this harvest changed/);
  assertMatch(page, /<code>title<\/code><\/td><td>[^<]*<\/td><td>A new title<\/td>/);
  // The job report page is for the source's editors: anonymous callers are refused there.
  assertEquals((await app.request(`/harvest/hist/job/${second.jobId}`)).status, 403);
});
