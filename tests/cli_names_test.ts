/**
 * Every command of the original runs under its old name and its current CKAN spelling, and every
 * command that prints data prints JSON with --json.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

Deno.test("every command runs under each of its names, and --json prints parseable data", async () => {
  await using db = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 8, seed: 2 }));
  const env = { DATABASE_URL: db.url };
  const run = async (args: string[], pattern?: RegExp) => {
    const r = await cli(args, env);
    assertEquals(r.code, 0, `harvester ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    if (pattern) assertMatch(r.stdout + r.stderr, pattern);
    return r.stdout;
  };
  const json = async (args: string[]) => {
    const stdout = await run([...args, "--json"]);
    try {
      return JSON.parse(stdout);
    } catch {
      throw new Error(`harvester ${args.join(" ")} --json did not print JSON:\n${stdout}`);
    }
  };

  await run(["initdb"], /Applied migrations|up to date/);
  await run(["db", "upgrade"], /up to date/);
  await run(["source", "create", "named", remote.url, "ckan"], /Created new harvest source/);
  assertEquals((await json(["source", "show", "named"])).name, "named");
  assertEquals((await json(["sources"]))[0].name, "named");
  assertEquals((await json(["harvesters-info"]))[0].name, "ckan");
  await run(["harvesters_info"], /ckan/);

  for (const name of ["run-test", "run_test"]) {
    const summary = await json([name, "named"]);
    assert(summary.stats, `${name} prints the job summary`);
  }
  assertEquals((await json(["jobs", "named"])).length, 2);
  const job = await json(["job", "named"]);
  assertEquals(job.status, "Running");
  assertEquals((await json(["job-abort", "named"])).status, "Finished");
  await run(["job", "named"]);
  await run(["job_abort", job.source_id], /Job status: Finished/);
  assert(Array.isArray((await json(["run"])).started));
  assertEquals((await json(["job-all"])).length, 1);
  await run(["job-abort", "named"]);
  await run(["job_all"], /Created 1 new harvest jobs/);
  await run(["job-abort", "named"]);
  await run(["abort-failed-jobs"], /There is no jobs to abort/);
  await run(["abort_failed_jobs", "3"], /There is no jobs to abort/);
  assertEquals(Object.keys(await json(["purge-queues"])).sort(), ["fetch", "gather"]);
  await run(["purge_queues"], /Purged/);
  assertEquals((await json(["import", "named"])).reimported, 8);
  assertEquals(await json(["reindex"]), true);
  assertEquals(typeof (await json(["clean-harvest-log"])).deleted, "number");
  await run(["clean_harvest_log"], /Deleted 0 log row/);

  for (const name of [["clearsource_history"], ["clearsource-history"], ["source", "clear-history"]]) {
    await run([...name, "named"], /Cleared job history of harvest source: named/);
  }
  assertEquals((await json(["source", "clear-history"])).length, 1);
  await run(["clearsource_history", "-k", "true"], /Cleared job history for all harvest sources: 1 source/);
  assertEquals((await json(["clearsource", "named"])).datasets, 8);
  await run(["run-test", "named"], /8 added/);
  await run(["source", "clear", "named"], /Cleared harvest source: named \(8 dataset\(s\) purged\)/);
  await run(["rmsource", "named"], /Removed harvest source: named/);
  await run(["source", "create", "other", `${remote.url}/`, "ckan"]);
  assertEquals((await json(["source", "remove", "other"])).id.length, 36);

  await run(["user", "add", "alice", "--email", "alice@example.org"]);
  assertEquals((await json(["user", "add", "bob"])).name, "bob");
  const token = await json(["user", "token", "add", "alice", "laptop"]);
  assertMatch(token.token, /^hv_/);
  await run(["user", "token", "revoke", token.id]);
  assertEquals((await json(["org", "add", "org-x"])).name, "org-x");
  await run(["org", "member", "add", "org-x", "alice", "editor"]);
  assertEquals((await json(["group", "add", "grp-x"])).name, "grp-x");

  for (
    const name of ["gather-consumer", "gather_consumer", "fetch-consumer", "fetch_consumer", "worker", "scheduler"]
  ) {
    await run([name, "--help"], /Usage: harvester/);
  }
});
