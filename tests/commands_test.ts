import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, Proc, servicesOn } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

type Dict = Record<string, unknown>;

Deno.test("two schedulers side by side never start the same job twice", async () => {
  await using db = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 2 }));
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  for (let i = 0; i < 8; i++) {
    const r = await cli([
      "source",
      "create",
      `always-${i}`,
      `${remote.url}/s${i}`,
      "ckan",
      "",
      "",
      "",
      "ALWAYS",
      "",
      "--no-check-url",
    ], env);
    assertEquals(r.code, 0, r.stderr);
  }
  const a = new Proc("cli.ts", ["scheduler", "--interval", "1"], env);
  const b = new Proc("cli.ts", ["scheduler", "--interval", "1"], env);
  try {
    await a.waitFor(/scheduler started/);
    await b.waitFor(/scheduler started/);
    await new Promise((r) => setTimeout(r, 5000));
  } finally {
    assertEquals((await a.stop("SIGTERM")).code, 0, a.output);
    assertEquals((await b.stop("SIGTERM")).code, 0, b.output);
  }
  assertMatch(a.output, /scheduler stopped/);
  await using services = await servicesOn(db.url);
  const jobs = await services.sql<{ source_id: string; n: number }[]>`
    SELECT source_id, count(*)::int AS n FROM harvest_job GROUP BY source_id`;
  assertEquals(jobs.length, 8, "every ALWAYS source got a job");
  assert(jobs.every((j) => j.n === 1), "no source got a second job while its first was pending");
  assertEquals(await services.queue.depth("gather"), 8, "each job was queued exactly once");
});

Deno.test("worker consumes, finishes jobs by itself, and stops gracefully on SIGTERM", async () => {
  await using db = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 300, seed: 4 }));
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  await cli(["source", "create", "queued", remote.url, "ckan"], env);
  const job = JSON.parse((await cli(["--json", "job", "queued"], env)).stdout) as Dict;
  assertEquals(job.status, "Running");
  const gather = new Proc("cli.ts", ["gather-consumer"], env);
  const fetch = new Proc("cli.ts", ["fetch_consumer", "--concurrency", "8"], env);
  try {
    const deadline = Date.now() + 60_000;
    let jobs: Dict[] = [];
    while (Date.now() < deadline) {
      jobs = JSON.parse((await cli(["--json", "jobs", "queued"], env)).stdout);
      if (jobs[0]?.status === "Finished") break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assertEquals(jobs[0]!.status, "Finished");
    assertEquals((jobs[0]!.stats as Dict).added, 300);
  } finally {
    assertEquals((await gather.stop("SIGTERM")).code, 0);
    assertEquals((await fetch.stop("SIGTERM")).code, 0);
  }
  assertMatch(fetch.output, /fetch-consumer stopped/);
  const bad = await cli(["worker", "--concurrency", "0"], env);
  assertEquals(bad.code, 1);
  assertMatch(bad.stderr, /--concurrency: must be an integer from 1 to 256, not 0/);
});

Deno.test("run, job-all, abort-failed-jobs, purge-queues, import and run-test GUID do what the original's commands do", async () => {
  await using db = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 12, seed: 2 }));
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  await cli(["source", "create", "one", remote.url, "ckan"], env);
  await cli(["source", "create", "two", `${remote.url}/two`, "ckan", "", "", "", "MANUAL", "", "--no-check-url"], env);

  const all = await cli(["job-all"], env);
  assertMatch(all.stdout, /Created 2 new harvest jobs/);
  assertMatch((await cli(["job_all"], env)).stdout, /Created 0 new harvest jobs/);
  assertMatch((await cli(["purge-queues"], env)).stdout, /Purged 2 gather and 0 fetch message\(s\)/);

  // Jobs older than their lifespan are aborted; include beats exclude.
  await using services = await servicesOn(db.url);
  await services.sql`UPDATE harvest_job SET created = now() - interval '10 days'`;
  assertMatch((await cli(["abort-failed-jobs", "30"], env)).stdout, /There is no jobs to abort/);
  assertMatch((await cli(["abort-failed-jobs", "3", "-i", "two", "-e", "two"], env)).stdout, /Done\. Aborted jobs: 1/);
  assertMatch((await cli(["abort_failed_jobs", "3", "-e", "one"], env)).stdout, /There is no jobs to abort/);
  assertMatch((await cli(["abort-failed-jobs"], env)).stdout, /Done\. Aborted jobs: 1/);
  assertMatch((await cli(["abort-failed-jobs", "zero"], env)).stderr, /life_span: must be a whole number of days/);

  // The tick with nothing to do, and with a lost gather.
  assertMatch((await cli(["run"], env)).stdout, /Started 0 job\(s\), finished 0, timed out 0/);

  // run-test with a GUID processes only that record, forced.
  const guid = remote.catalog.datasets[3]!.id as string;
  const one = await cli(["run-test", "one", `force-import=${guid}`], env);
  assertMatch(one.stdout, /1 added, 0 updated, 0 not modified, 0 deleted, 0 errored/);
  const full = await cli(["run-test", "one"], env);
  assertMatch(full.stdout, /11 added, 0 updated, 1 not modified/);
  const forced = await cli(["run-test", "one", guid], env);
  assertMatch(forced.stdout, /0 added, 1 updated, 0 not modified/);

  // import re-runs the import stage from stored content, nothing fetched.
  const before = remote.requests.length;
  const imported = await cli(["import", "one"], env);
  assertMatch(imported.stdout, /^12 objects reimported$/m);
  assertEquals(remote.requests.length, before, "import fetched nothing");
  assertMatch((await cli(["import", "-g", guid], env)).stdout, /^1 objects reimported$/m);
  const name = remote.catalog.datasets[5]!.name as string;
  assertMatch((await cli(["import", "-p", name], env)).stdout, /^1 objects reimported$/m);
  const segments = await cli(["--json", "import", "--segments", "0123456789abcdef"], env);
  assertEquals(JSON.parse(segments.stdout), { reimported: 12 });
  assertMatch((await cli(["import", "--segments", "xyz"], env)).stderr, /segments: must be hex digits/);
  assertMatch((await cli(["job-abort", "nope"], env)).stderr, /Harvest job not found: nope/);

  // source remove (and its old name rmsource) deactivate a source and keep its datasets.
  assertMatch((await cli(["source", "remove", "two"], env)).stdout, /Removed harvest source: two/);
  assertMatch((await cli(["rmsource", "one"], env)).stdout, /Removed harvest source: one/);
  assertMatch((await cli(["sources"], env)).stdout, /^0 harvest source\(s\)$/m);
  assertMatch((await cli(["sources", "all"], env)).stdout, /^2 harvest source\(s\)$/m);
  const [{ n }] = await services.sql<
    { n: number }[]
  >`SELECT count(*)::int AS n FROM package WHERE state = 'active'` as unknown as [{ n: number }];
  assertEquals(n, 12);
});
