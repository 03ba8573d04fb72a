/**
 * Preview, then apply (issue 20, part 1), through the CLI with the harvester task's flags, against a
 * real CKAN-shaped server: a preview of a changed remote lists exactly the changes and writes
 * nothing; applying it writes exactly those; a remote that changed since the preview makes the apply
 * refuse, with nothing written and a new preview named.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { ANONYMOUS, getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";

type Dict = Record<string, unknown>;

Deno.test("a preview lists exactly what a harvest would change and writes nothing; apply writes exactly that, or refuses when the remote changed", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const catalog = sampleCatalog({ count: 10, seed: 4 });
  await using remote = serveCkanCatalog(catalog);
  assertEquals((await cli(["source", "create", "prev", remote.url, "ckan"], env)).code, 0);
  assertEquals(JSON.parse((await cli(["--json", "run-test", "prev"], env)).stdout).stats.added, 10);

  await using services = await servicesOn(db.url);
  const act = (n: string, i: Dict) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
  const show = async (name: string) => await act("package_show", { id: name }) as Dict;

  const [d0, d1, d2] = catalog.datasets as Dict[];
  const oldTitle = d0!.title;
  d0!.title = "A previewed title";
  d0!.tags = [...(d0!.tags as Dict[]), { name: "previewed-tag" }];
  d0!.metadata_modified = new Date().toISOString().slice(0, 19);
  d1!.state = "deleted";
  const added = {
    ...structuredClone(d2!),
    id: "00000000-0000-4000-8000-00000000abcd",
    name: "a-new-dataset",
    title: "A new dataset",
    metadata_modified: new Date().toISOString().slice(0, 19),
  };
  catalog.datasets.push(added);

  // The preview: exactly the three changes, with the update's field diff.
  const planned = await cli(["--json", "plan", "prev"], env);
  assertEquals(planned.code, 0, planned.stderr);
  const plan = JSON.parse(planned.stdout);
  assertEquals(plan.counts, { add: 1, update: 1, leave: 8, withdraw: 1, error: 0 });
  const byAction = Object.fromEntries((plan.items as Dict[]).map((i) => [i.action, i]));
  assertEquals((byAction.add as Dict).guid, added.id);
  assertEquals([(byAction.add as Dict).title, (byAction.add as Dict).name], ["A new dataset", "a-new-dataset"]);
  assertEquals((byAction.withdraw as Dict).guid, d1!.id);
  const update = byAction.update as { guid: string; changes: { field: string; before: unknown; after: unknown }[] };
  assertEquals(update.guid, d0!.id);
  const fields = Object.fromEntries(update.changes.map((c) => [c.field, c]));
  assertEquals([fields.title?.before, fields.title?.after], [oldTitle, "A previewed title"]);
  assertEquals([fields.tags?.before, fields.tags?.after], [[], ["previewed-tag"]]);

  // Nothing was written: the old title, no new dataset, the withdrawn one still active, no new job.
  assertEquals((await show(d0!.name as string)).title, oldTitle);
  assertEquals((await show(d1!.name as string)).state, "active");
  const missing = await cli(["--json", "source", "show", "prev"], env);
  assertEquals(JSON.parse(missing.stdout).status.job_count, 1);
  assertEquals((await act("package_search", { q: "name:a-new-dataset" }) as Dict).count, 0);

  // The human form names each change.
  const text = await cli(["plan-show", plan.id], env);
  assertEquals(text.code, 0, text.stderr);
  assertMatch(text.stdout, /1 to add, 1 to update, 8 to leave, 1 to withdraw, 0 to fail/);
  assertMatch(text.stdout, /title: "[^"]*" -> "A previewed title"/);
  assertMatch(text.stdout, /tags: \+previewed-tag/);
  assertMatch(text.stdout, new RegExp(`Apply it with: harvester apply ${plan.id}`));

  // Apply: exactly those three, as a job.
  const applied = await cli(["--json", "apply", plan.id], env);
  assertEquals(applied.code, 0, applied.stderr);
  const result = JSON.parse(applied.stdout);
  assertEquals(result.job.status, "Finished");
  assertEquals(
    [result.job.stats.added, result.job.stats.updated, result.job.stats.deleted, result.job.stats.errored],
    [1, 1, 1, 0],
  );
  assertEquals((await show(d0!.name as string)).title, "A previewed title");
  assertEquals((await show(d1!.name as string)).state, "deleted");
  assertEquals((await show("a-new-dataset")).title, "A new dataset");
  const history = await act("harvest_dataset_history", { id: d0!.name as string }) as { changes: Dict[] }[];
  assertEquals(history[0]!.changes.map((c) => c.field).sort(), ["tags", "title"]);

  // A preview applies once.
  const again = await cli(["apply", plan.id], env);
  assertEquals(again.code, 1);
  assertMatch(again.stderr, /applied already, by job/);

  // A remote that changes between the preview and the apply: refused, nothing written, a new preview named.
  const quiet = JSON.parse((await cli(["--json", "plan", "prev"], env)).stdout);
  assertEquals(quiet.counts, { add: 0, update: 0, leave: 10, withdraw: 0, error: 0 });
  d2!.title = "Changed after the preview";
  d2!.metadata_modified = new Date().toISOString().slice(0, 19);
  const refused = await cli(["apply", quiet.id], env);
  assertEquals(refused.code, 1, refused.stdout);
  assertMatch(refused.stderr, new RegExp(`${d2!.id}: planned leave, now update`));
  const newPlan = refused.stderr.match(/harvester apply ([0-9a-f-]{36})/)?.[1];
  assert(newPlan && newPlan !== quiet.id, refused.stderr);
  assert((await show(d2!.name as string)).title !== "Changed after the preview", "nothing was written");
  const jobs = JSON.parse((await cli(["--json", "source", "show", "prev"], env)).stdout);
  assertEquals(jobs.status.job_count, 2, "the refused apply made no job");
  // The new preview is the fresh run: applying it writes the change.
  const second = JSON.parse((await cli(["--json", "apply", newPlan], env)).stdout);
  assertEquals(second.job.stats.updated, 1);
  assertEquals((await show(d2!.name as string)).title, "Changed after the preview");

  // An unknown preview, and a malformed id, are clear refusals.
  const unknown = await cli(["apply", "00000000-0000-4000-8000-000000000000"], env);
  assertEquals(unknown.code, 1);
  assertMatch(unknown.stderr, /Preview not found/);
});

Deno.test("a preview honours the deletion guard and the access rules", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const catalog = sampleCatalog({ count: 5, seed: 6 });
  await using remote = serveCkanCatalog(catalog);
  assertEquals((await cli(["source", "create", "guarded", remote.url, "ckan"], env)).code, 0);
  assertEquals(JSON.parse((await cli(["--json", "run-test", "guarded"], env)).stdout).stats.added, 5);
  for (const d of (catalog.datasets as Dict[]).slice(0, 3)) d.state = "deleted";
  const plan = JSON.parse((await cli(["--json", "plan", "guarded"], env)).stdout);
  assertEquals(plan.counts.withdraw, 0);
  assertEquals(plan.held_deletions.count, 3);
  assertMatch(plan.held_deletions.reason, /3 of 5 datasets \(60\.0 %\) would be withdrawn/);

  // Anonymous callers may not preview; the API names the rule.
  await using services = await servicesOn(db.url);
  const anonymous: Error = await runAction(getAction("harvest_source_plan")!, { services, actor: ANONYMOUS }, {
    id: "guarded",
  }).catch((e: Error) => e) as Error;
  assertMatch(String(anonymous.message), /not authorized to preview harvests/);
});
