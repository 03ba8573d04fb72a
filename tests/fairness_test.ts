/**
 * Fairness between sources (ckanext-harvest #429, #568): a big source and ten small ones started
 * together, on one worker process started with the harvester task's flags, on every queue backend.
 * The small ones finish long before the big one, because each job's first objects and every manual
 * gather go on the fast lane, which consumers serve first, and gathers run two at a time. With the
 * fast lane and the second gather turned off, the same run finishes the small ones after the big
 * one: the test shows the lanes are what it measures.
 *
 * The scheduler's lanes: a source whose last job was small, or that never ran, is gathered from the
 * fast lane; a big one from the bulk lane.
 *
 * A source's concurrency cap: the objects of a capped source queued or in work never exceed the cap,
 * sampled throughout its job, while an uncapped source beside it exceeds it.
 */
import { assert, assertEquals } from "./assert.ts";
import { cli, freshDatabase, Proc, servicesOn, testServices } from "./helpers.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { tick } from "../src/harvest/tick.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { type CkanServer, serveCkanCatalog } from "../src/demo/ckan_server.ts";

const BIG = 20_000;
const SMALL = 100;

const BACKENDS: Record<string, Record<string, string>> = {
  postgres: {},
  redis: { CKAN__HARVEST__MQ__TYPE: "redis", CKAN__HARVEST__MQ__URL: Deno.env.get("TEST_REDIS_URL") ?? "" },
  amqp: { CKAN__HARVEST__MQ__TYPE: "amqp", CKAN__HARVEST__MQ__URL: Deno.env.get("TEST_AMQP_URL") ?? "" },
};

interface Finish {
  name: string;
  seconds: number;
  objects: number;
  /** The big job's objects finished when this job was seen finished. */
  bigDone: number;
}

/** Runs one big and ten small sources from a single worker; answers when each job finished, in seconds from the start. */
async function bigAndSmall(backend: Record<string, string>, extra: Record<string, string> = {}): Promise<Finish[]> {
  await using db = await freshDatabase();
  const remotes: CkanServer[] = [serveCkanCatalog(sampleCatalog({ count: BIG, seed: 1 }))];
  for (let i = 0; i < 10; i++) remotes.push(serveCkanCatalog(sampleCatalog({ count: SMALL, seed: 100 + i })));
  const env = {
    DATABASE_URL: db.url,
    CKAN__SITE_ID: `fair${crypto.randomUUID().slice(0, 8)}`,
    CKAN__HARVEST__ALLOWED_HOSTS: "127.0.0.1",
    HARVEST_LOG_LEVEL: "warning",
    ...backend,
    ...extra,
  };
  let worker: Proc | undefined;
  try {
    assertEquals((await cli(["db", "upgrade"], env)).code, 0);
    for (const [i, remote] of remotes.entries()) {
      const name = i === 0 ? "big" : `small-${i}`;
      const created = await cli(
        ["source", "create", name, remote.url, "ckan", "", "", "", "MANUAL", '{"rows": 500}'],
        env,
      );
      assertEquals(created.code, 0, created.stderr);
    }
    // The big one's gather is queued first, then the ten small ones', as a crowd of runs would be.
    assertEquals((await cli(["job", "big"], env)).code, 0);
    assertEquals((await cli(["job-all"], env)).code, 0);
    const started = Date.now();
    worker = new Proc("cli.ts", ["worker", "--concurrency", "8"], env);
    await using services = await servicesOn(db.url, env);
    const finishes = new Map<string, Finish>();
    while (finishes.size < remotes.length && Date.now() - started < 240_000) {
      const rows = await services.sql<{ name: string; objects: number; big_done: number }[]>`
        SELECT s.name, (SELECT count(*)::int FROM harvest_object o WHERE o.harvest_job_id = j.id) AS objects,
          (SELECT count(*)::int FROM harvest_object o JOIN harvest_source b ON b.id = o.harvest_source_id
            WHERE b.name = 'big' AND o.state IN ('COMPLETE', 'ERROR')) AS big_done
        FROM harvest_job j JOIN harvest_source s ON s.id = j.source_id WHERE j.status = 'Finished'`;
      for (const r of rows) {
        if (!finishes.has(r.name)) {
          finishes.set(r.name, {
            name: r.name,
            objects: r.objects,
            bigDone: r.big_done,
            seconds: (Date.now() - started) / 1000,
          });
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(finishes.size, remotes.length, `jobs finished: ${[...finishes.keys()]}\n${worker.output}`);
    const [added] = await services.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM harvest_object WHERE report_status = 'added'`;
    assertEquals(added!.n, BIG + 10 * SMALL, "every dataset once");
    return [...finishes.values()];
  } finally {
    await worker?.stop("SIGTERM");
    for (const r of remotes) await r.close();
  }
}

for (const [name, backend] of Object.entries(BACKENDS)) {
  Deno.test(`${name}: ten small sources started with a ${BIG}-dataset one finish long before it`, async () => {
    const finishes = await bigAndSmall(backend);
    const big = finishes.find((f) => f.name === "big")!;
    const small = finishes.filter((f) => f.name !== "big");
    const last = small.reduce((a, b) => a.seconds > b.seconds ? a : b);
    console.log(
      `${name}: last small source finished after ${
        last.seconds.toFixed(1)
      } s (the big one then at ${last.bigDone} of ` +
        `${BIG} objects), the big one after ${big.seconds.toFixed(1)} s`,
    );
    // Each small job waits for at most the fast lane's share of the big one (1,000 objects) and the
    // other small ones: well within the first half of the big job's objects. (Counted in objects, not
    // seconds: the worker's start and the scheduler's first ticks are a fixed cost in both.)
    assert(last.bigDone < BIG / 2, `small sources finished when the big one was at ${last.bigDone} of ${BIG} objects`);
  });
}

Deno.test("without the fast lane and with one gather at a time, the small sources wait for the big one", async () => {
  const finishes = await bigAndSmall(BACKENDS.postgres!, {
    CKAN__HARVEST__FAST_LANE__MAX_OBJECTS: "0",
    CKAN__HARVEST__GATHER__CONCURRENCY: "1",
  });
  const last = finishes.filter((f) => f.name !== "big").reduce((a, b) => a.seconds > b.seconds ? a : b);
  assert(last.bigDone > BIG * 0.8, `small sources finished when the big one was at ${last.bigDone} of ${BIG} objects`);
});

Deno.test("a source's concurrency cap holds across its whole job, with an uncapped source beside it", async () => {
  await using db = await freshDatabase();
  const capped = serveCkanCatalog(sampleCatalog({ count: 1500, seed: 3 }));
  const free = serveCkanCatalog(sampleCatalog({ count: 1500, seed: 4 }));
  const env = {
    DATABASE_URL: db.url,
    CKAN__SITE_ID: `cap${crypto.randomUUID().slice(0, 8)}`,
    CKAN__HARVEST__ALLOWED_HOSTS: "127.0.0.1",
    HARVEST_LOG_LEVEL: "warning",
  };
  const workers: Proc[] = [];
  try {
    assertEquals((await cli(["db", "upgrade"], env)).code, 0);
    for (const [name, url, config] of [["capped", capped.url, '{"concurrency": 5}'], ["free", free.url, "{}"]]) {
      const created = await cli(["source", "create", name!, url!, "ckan", "", "", "", "MANUAL", config!], env);
      assertEquals(created.code, 0, created.stderr);
    }
    const refused = await cli([
      "source",
      "create",
      "bad",
      `${free.url}/x`,
      "ckan",
      "",
      "",
      "",
      "MANUAL",
      '{"concurrency": 0}',
    ], env);
    assert(refused.code !== 0 && /concurrency must be a whole number/.test(refused.stderr), refused.stderr);
    // Two workers: the cap is counted in the database, for every process.
    for (let i = 0; i < 2; i++) workers.push(new Proc("cli.ts", ["worker", "--concurrency", "16"], env));
    assertEquals((await cli(["job-all"], env)).code, 0);
    await using services = await servicesOn(db.url, env);
    const most: Record<string, number> = { capped: 0, free: 0 };
    const deadline = Date.now() + 180_000;
    for (;;) {
      const rows = await services.sql<{ name: string; in_flight: number; running: boolean }[]>`
        SELECT s.name, j.status = 'Running' AS running,
          (SELECT count(*)::int FROM harvest_object o WHERE o.harvest_job_id = j.id
            AND o.state IN ('WAITING', 'FETCH', 'IMPORT') AND o.queued_at IS NOT NULL) AS in_flight
        FROM harvest_job j JOIN harvest_source s ON s.id = j.source_id`;
      for (const r of rows) most[r.name] = Math.max(most[r.name]!, r.in_flight);
      if (rows.length === 2 && rows.every((r) => !r.running)) break;
      assert(Date.now() < deadline, `jobs still running: ${JSON.stringify(rows)}\n${workers[0]!.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const [added] = await services.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM harvest_object WHERE report_status = 'added'`;
    assertEquals(added!.n, 3000, "every dataset of both sources once");
    console.log(`most objects queued or in work at once: capped source ${most.capped}, uncapped ${most.free}`);
    assert(most.capped! <= 5, `the capped source had ${most.capped} objects queued or in work at once`);
    assert(most.capped! >= 3, `the capped source used its window (${most.capped})`);
    assert(most.free! > 5, `the uncapped source had ${most.free} at once: the cap is what held the other`);
    assertEquals([...await services.sql`SELECT * FROM harvest_job_window`], [], "windows of finished jobs are dropped");
  } finally {
    for (const w of workers) await w.stop("SIGTERM");
    await capped.close();
    await free.close();
  }
});

Deno.test("the scheduler gathers small sources (and new ones) from the fast lane, big ones from the bulk lane", async () => {
  await using services = await testServices({ CKAN__HARVEST__FAST_LANE__MAX_OBJECTS: "10" });
  const ctx = { services, actor: SITE_ACTOR };
  const act = (action: string, input: Record<string, unknown>) => runAction(getAction(action)!, ctx, input);
  await using smallRemote = serveCkanCatalog(sampleCatalog({ count: 5, seed: 5 }));
  await using bigRemote = serveCkanCatalog(sampleCatalog({ count: 30, seed: 6 }));
  await using newRemote = serveCkanCatalog(sampleCatalog({ count: 30, seed: 7 }));
  for (const [name, url] of [["small", smallRemote.url], ["big", bigRemote.url], ["new", newRemote.url]]) {
    await act("harvest_source_create", { name, url, source_type: "ckan", frequency: "DAILY", check_url: false });
  }
  // A run of each of the first two, so their size is known: 5 and 30 records.
  for (const name of ["small", "big"]) await runJobInProcess(ctx, await getSource(services.sql, name!));
  await services.queue.purge("gather");
  const report = await tick(services);
  assertEquals(report.started.length, 3);
  const lanes = await services.sql<{ name: string; queue: string }[]>`
    SELECT s.name, q.queue FROM harvest_queue q JOIN harvest_job j ON j.id = q.body::json->>'harvest_job_id'
    JOIN harvest_source s ON s.id = j.source_id ORDER BY s.name`;
  const site = services.config.values["ckan.site_id"];
  assertEquals(lanes.map((l) => [l.name, l.queue]), [
    ["big", `ckan.harvest.${site}.gather`],
    ["new", `ckan.harvest.${site}.gather.fast`],
    ["small", `ckan.harvest.${site}.gather.fast`],
  ]);
});
