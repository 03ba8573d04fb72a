/**
 * The actions around a source's life after harvesting: status, job reports, objects, clearing, the
 * database log and notification recipients.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { ValidationError } from "../src/errors/mod.ts";

type Dict = Record<string, unknown>;

async function harvested() {
  const services = await testServices();
  const catalog = sampleCatalog({ count: 6, seed: 11 });
  // One record the import cannot use, for the report.
  catalog.datasets[2]!.resources = "not a list";
  const remote = serveCkanCatalog(catalog);
  const ctx = { services, actor: SITE_ACTOR };
  const act = (name: string, input: Dict) => runAction(getAction(name)!, ctx, input) as Promise<unknown>;
  await act("organization_create", { name: "org-a" });
  await act("harvest_source_create", {
    name: "src-a",
    url: remote.url,
    source_type: "ckan",
    owner_org: "org-a",
    config: { api_key: "k" },
  });
  const source = await getSource(services.sql, "src-a");
  const summary = await runJobInProcess(ctx, source);
  return {
    services,
    remote,
    act,
    source,
    summary,
    catalog,
    async [Symbol.asyncDispose]() {
      await remote.close();
      await services.close();
    },
  };
}

Deno.test("show_status, job_report with original URLs, and object show/list tell what a job did", async () => {
  await using h = await harvested();
  assertEquals(h.summary.stats.added, 5);
  assertEquals(h.summary.stats.errored, 1);
  const status = await h.act("harvest_source_show_status", { id: "src-a" }) as Dict;
  assertEquals(status.job_count, 1);
  assertEquals(status.total_datasets, 5);
  assertEquals((status.last_job as Dict).id, h.summary.jobId);

  const report = await h.act("harvest_job_report", { id: h.summary.jobId }) as {
    gather_errors: unknown[];
    object_errors: Record<string, { guid: string; original_url?: string; errors: Dict[] }>;
  };
  assertEquals(report.gather_errors, []);
  const entries = Object.values(report.object_errors);
  assertEquals(entries.length, 1);
  const bad = h.catalog.datasets[2]!;
  assertEquals(entries[0]!.guid, bad.id);
  assertEquals(entries[0]!.original_url, `${h.remote.url}/dataset/${bad.id}`);
  assertEquals(entries[0]!.errors[0]!.type, "Import");

  const ids = await h.act("harvest_object_list", { source_id: "src-a" }) as string[];
  assertEquals(ids.length, 5, "only current objects by default");
  const all = await h.act("harvest_object_list", { source_id: "src-a", only_current: false }) as string[];
  assertEquals(all.length, 6);
  assertEquals(
    (await h.act("harvest_object_list", { source_id: "src-a", only_current: false, limit: 2 }) as []).length,
    2,
  );

  const first = h.catalog.datasets[0]!;
  const byDataset = await h.act("harvest_object_show", { dataset_id: first.name as string }) as Dict;
  assertEquals(byDataset.guid, first.id);
  assertEquals(JSON.parse(byDataset.content as string).id, first.id);
  const byGuid = await h.act("harvest_object_show", { id: first.id as string, attr: "guid" }) as Dict;
  assertEquals(byGuid.id, byDataset.id);
  assertEquals(byGuid.source, h.source.id);
  const error = await runAction(getAction("harvest_object_show")!, { services: h.services, actor: SITE_ACTOR }, {})
    .catch((e) => e);
  assert(error instanceof ValidationError);
  assertMatch(error.fields.id![0]!, /Please provide either an "id" or a "dataset_id" parameter/);

  const made = await h.act("harvest_object_create", {
    job_id: h.summary.jobId,
    guid: "extra-1",
    content: "{}",
    extras: { a: "b" },
  }) as Dict;
  assertEquals(made.extras, { a: "b" });
  assertEquals(made.state, "WAITING");
  const badExtras = await h.act("harvest_object_create", { job_id: h.summary.jobId, extras: { a: 1 } }).catch((
    e: Error,
  ) => e) as Error;
  assertMatch(badExtras.message, /extras must be a dict of strings/);
  const badJob = await h.act("harvest_object_create", { job_id: "nope" }).catch((e: Error) => e) as Error;
  assertMatch(badJob.message, /job_id: Unknown harvest job: nope/);
});

Deno.test("history clear keeps datasets and their links; clear purges only this source's datasets", async () => {
  await using h = await harvested();
  // A second job, all not modified: the first job holds the current objects.
  const second = await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, h.source);
  assertEquals(second.stats["not modified"], 5);
  const cleared = await h.act("harvest_source_job_history_clear", { id: "src-a" }) as Dict;
  assertEquals(cleared.jobs, 1, "the job with no current object is gone; the one holding them stays");
  const third = await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, h.source);
  assertEquals(third.stats["not modified"], 5, "no dataset is duplicated after a history clear");
  assertEquals((await h.act("package_list", {}) as string[]).length, 5);

  // Another source's dataset survives the clear.
  await h.act("package_create", { name: "hand-made" });
  await h.services.sql`UPDATE harvest_job SET status = 'Running' WHERE id = ${third.jobId}`;
  await assertRejects(() => h.act("harvest_source_clear", { id: "src-a" }), ValidationError, "running job");
  await h.services.sql`UPDATE harvest_job SET status = 'Finished' WHERE id = ${third.jobId}`;
  const result = await h.act("harvest_source_clear", { id: "src-a" }) as Dict;
  assertEquals(result.datasets, 5);
  assertEquals(await h.act("package_list", {}), ["hand-made"]);
  const status = await h.act("harvest_source_show_status", { id: "src-a" }) as Dict;
  assertEquals(status, { job_count: 0, last_job: null, total_datasets: 0 });
  const again = await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, h.source);
  assertEquals(again.stats.added, 5, "a cleared source harvests everything again");

  await h.act("harvest_source_delete", { id: "src-a", clear: true });
  assertEquals(await h.act("package_list", {}), ["hand-made"]);
  assertEquals((await getSource(h.services.sql, "src-a")).state, "deleted");
});

Deno.test("the source's dataset counter follows each change its datasets and objects go through, as a recount does", async () => {
  await using h = await harvested();
  const sql = h.services.sql;
  const recount = async () =>
    (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM harvest_object o JOIN package p ON p.id = o.package_id
      WHERE o.harvest_source_id = ${h.source.id} AND o.current AND p.state = 'active' AND NOT p.private`)[0]!.n;
  const shown = async () => (await h.act("harvest_source_show_status", { id: "src-a" }) as Dict).total_datasets;
  const ids = (await sql<{ package_id: string }[]>`SELECT package_id FROM harvest_object
    WHERE harvest_source_id = ${h.source.id} AND current ORDER BY package_id`).map((r) => r.package_id);
  assertEquals(ids.length, 5);
  assertEquals(await shown(), 5);
  // Each statement goes through one branch of the counters' triggers (migrations 0013 and 0022).
  const steps: [string, () => Promise<unknown>][] = [
    ["a dataset made private", () => sql`UPDATE package SET private = true WHERE id = ${ids[0]!}`],
    [
      "its object unlinked while private",
      () => sql`UPDATE harvest_object SET current = false WHERE package_id = ${ids[0]!}`,
    ],
    ["a dataset deleted", () => sql`UPDATE package SET state = 'deleted' WHERE id = ${ids[1]!}`],
    [
      "a deleted dataset's object unlinked",
      () => sql`UPDATE harvest_object SET current = false WHERE package_id = ${ids[1]!}`,
    ],
    ["a dataset purged with its objects", () => sql`DELETE FROM package WHERE id = ${ids[2]!}`],
    ["a dataset's object unlinked", () => sql`UPDATE harvest_object SET current = false WHERE package_id = ${ids[3]!}`],
    ["it is linked again", () => sql`UPDATE harvest_object SET current = true WHERE package_id = ${ids[3]!}`],
    ["a current object deleted", () => sql`DELETE FROM harvest_object WHERE package_id = ${ids[4]!}`],
  ];
  for (const [what, step] of steps) {
    await step();
    assertEquals(await shown(), await recount(), what);
  }
  assertEquals(await shown(), 1);
});

Deno.test("notification recipients: sysadmins and org admins with an e-mail, de-duplicated, then plugin hooks", async () => {
  await using h = await harvested();
  await h.act("user_create", { name: "root", email: "root@example.org", sysadmin: true });
  await h.act("user_create", { name: "root-twin", email: "ROOT@example.org", sysadmin: true });
  await h.act("user_create", { name: "no-mail", sysadmin: true });
  await h.act("user_create", { name: "boss", email: "boss@example.org" });
  await h.act("user_create", { name: "clerk", email: "clerk@example.org" });
  await h.act("organization_member_create", { id: "org-a", username: "boss", role: "admin" });
  await h.act("organization_member_create", { id: "org-a", username: "clerk", role: "editor" });
  assertEquals(await h.act("harvest_get_notifications_recipients", { source_id: "src-a" }), [
    { name: "root", email: "root@example.org" },
    { name: "boss", email: "boss@example.org" },
  ]);
  h.services.hooks.recipients.push((_source, list) => [...list, { name: "ops", email: "ops@example.org" }]);
  const withHook = await h.act("harvest_get_notifications_recipients", { source_id: "src-a" }) as Dict[];
  assertEquals(withHook.at(-1), { name: "ops", email: "ops@example.org" });
});

Deno.test("harvest_log_list pages the database log newest first and filters by level", async () => {
  await using h = await harvested();
  await h.services.sql`DELETE FROM harvest_log`;
  for (let i = 0; i < 5; i++) {
    await h.services.sql`INSERT INTO harvest_log (content, level, created)
      VALUES (${"line " + i}, ${i % 2 ? "ERROR" : "INFO"}, now() + make_interval(secs => ${i}))`;
  }
  const page = await h.act("harvest_log_list", { limit: 2 }) as Dict[];
  assertEquals(page.map((r) => r.content), ["line 4", "line 3"]);
  const errors = await h.act("harvest_log_list", { level: "error" }) as Dict[];
  assertEquals(errors.map((r) => r.content), ["line 3", "line 1"]);
  assertEquals(Object.keys(errors[0]!).sort(), ["content", "created", "level"]);
  assertEquals((await h.act("harvest_log_list", { per_page: 1, offset: 1 }) as Dict[])[0]!.content, "line 3");
  const bad = await h.act("harvest_log_list", { level: "LOUD" }).catch((e) => e);
  assert(bad instanceof ValidationError && "level" in bad.fields);
});
