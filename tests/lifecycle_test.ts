import { assert, assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { testHarvester } from "./fixtures/test_harvester.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { handleFetch, handleGather } from "../src/harvest/consumers.ts";
import { tick } from "../src/harvest/tick.ts";
import { gatherJob } from "../src/harvest/gather.ts";
import { processObjects } from "../src/harvest/process.ts";
import type { Services } from "../src/services.ts";

type Dict = Record<string, unknown>;

async function setup(env: Record<string, string> = {}) {
  const services = await testServices({ CKAN__HARVEST__MQ__VISIBILITY_TIMEOUT: "1", ...env });
  services.harvesters.register(testHarvester());
  const ctx = { services, actor: SITE_ACTOR };
  const act = (name: string, input: Dict) => runAction(getAction(name)!, ctx, input) as Promise<Dict>;
  let n = 0;
  const source = (config: Dict, frequency = "MANUAL") =>
    act("harvest_source_create", {
      name: `src-${++n}`,
      url: `http://127.0.0.1/test/${n}`,
      source_type: "test",
      frequency,
      config,
    });
  return { services, ctx, act, source };
}

/** Delivers every waiting message of both queues to the handlers, as a consumer would. */
async function drain(services: Services): Promise<void> {
  for (let round = 0; round < 20; round++) {
    let handled = 0;
    for (const [queue, handler] of [["gather", handleGather], ["fetch", handleFetch]] as const) {
      while (await services.queue.depth(queue) > 0) {
        const controller = new AbortController();
        await services.queue.listen(queue, async (body) => {
          handled++;
          await handler(services, body);
          controller.abort();
        }, { signal: controller.signal, concurrency: 1 });
      }
    }
    if (handled === 0) return;
  }
}

async function objects(services: Services, jobId: string) {
  return await services.sql<{ guid: string; state: string; report_status: string | null; current: boolean }[]>`
    SELECT guid, state, report_status, current FROM harvest_object WHERE harvest_job_id = ${jobId} ORDER BY guid`;
}

Deno.test("job lifecycle: one pending job per source, Running at queue time, Finished by itself with finished = last import (§12.1, §12.8)", async () => {
  const { services, act, source } = await setup();
  await using _ = services;
  const s = await source({ records: [{ guid: "a" }, { guid: "b" }, { guid: "c" }] });
  const job = await act("harvest_job_create", { source_id: s.id, run: false });
  assertEquals(job.status, "New");
  await assertRejectsMessage(() => act("harvest_job_create", { source_id: s.id }), /There already is an unrun job/);
  const queued = await act("harvest_send_job_to_gather_queue", { id: job.id });
  assertEquals(queued.status, "Running");
  assertEquals(queued.gather_started, null, "gather_started waits for a consumer");
  await drain(services);
  const done = await act("harvest_job_show", { id: job.id });
  assertEquals(done.status, "Finished", "the consumer finished the job without a tick");
  const [last] = await services.sql<{ at: Date }[]>`
    SELECT max(import_finished) AS at FROM harvest_object WHERE harvest_job_id = ${job.id as string}`;
  assertEquals(done.finished, last!.at.toISOString().replace("T", " ").replace("Z", "000"));
  assertEquals((done.stats as Dict).added, 3);
  const again = await act("harvest_job_create", { source_id: s.id });
  assertEquals(again.status, "Running");
});

Deno.test("report statuses and stats follow the original's rules (§12.2, §12.3)", async () => {
  const { services, act, source } = await setup();
  await using _ = services;
  const s = await source({
    records: [
      { guid: "add" },
      { guid: "keep" },
      { guid: "fetch-unchanged", fetch: "unchanged" },
      { guid: "import-unchanged", import: "unchanged" },
      { guid: "fail", import: "fail" },
      { guid: "boom", import: "throw" },
      { guid: "warn", import: "error" },
    ],
  });
  const job1 = await act("harvest_job_create", { source_id: s.id });
  await drain(services);
  const o1 = await objects(services, job1.id as string);
  const status = (rows: typeof o1, guid: string) => rows.find((r) => r.guid === guid)!;
  assertEquals(status(o1, "add"), { guid: "add", state: "COMPLETE", report_status: "added", current: true });
  assertEquals(status(o1, "fetch-unchanged").report_status, "not modified");
  assertEquals(status(o1, "import-unchanged").report_status, "not modified");
  assertEquals(status(o1, "fail"), { guid: "fail", state: "ERROR", report_status: "errored", current: false });
  assertEquals(status(o1, "boom").state, "ERROR", "an exception in import is an error, not a stuck object");
  assertEquals(status(o1, "warn").report_status, "added");
  const stats1 = (await act("harvest_job_show", { id: job1.id })).stats as Dict;
  // errored = objects with error rows (boom, warn), not the count of ERROR states (fail, boom).
  assertEquals(stats1, { added: 3, updated: 0, "not modified": 2, errored: 2, deleted: 0 });
  const report = await act("harvest_job_show", { id: job1.id });
  assertEquals((report.object_error_summary as Dict[]).map((e) => e.message).sort(), [
    "A warning-level problem",
    "import exploded",
  ]);

  // Second run: one updated, one withdrawn; the withdrawn object is reported deleted and not current.
  await services.sql`UPDATE harvest_source SET config = ${
    JSON.stringify({
      records: [{ guid: "add", title: "Changed" }, { guid: "keep", import: "delete" }, {
        guid: "import-unchanged",
        import: "unchanged",
      }],
    })
  } WHERE id = ${s.id as string}`;
  const job2 = await act("harvest_job_create", { source_id: s.id });
  await drain(services);
  const o2 = await objects(services, job2.id as string);
  assertEquals(status(o2, "add").report_status, "updated");
  assertEquals(status(o2, "keep"), { guid: "keep", state: "COMPLETE", report_status: "deleted", current: false });
  assertEquals(status(o2, "import-unchanged").current, false, "an unchanged import leaves the previous object current");
  const currents = await services.sql<{ guid: string; n: number }[]>`
    SELECT guid, count(*)::int AS n FROM harvest_object WHERE harvest_source_id = ${s.id as string} AND current
    GROUP BY guid ORDER BY guid`;
  assertEquals(
    [...currents],
    [{ guid: "add", n: 1 }, { guid: "warn", n: 1 }],
    "exactly one current object per live dataset",
  );
  const stats2 = (await act("harvest_job_show", { id: job2.id })).stats as Dict;
  assertEquals(stats2, { added: 0, updated: 1, "not modified": 1, errored: 0, deleted: 1 });
  const pkg = await runAction(getAction("package_show")!, { services, actor: SITE_ACTOR }, { id: "add" }) as Dict;
  assertEquals(pkg.title, "Changed");
  const [cur] = await services.sql<{ id: string }[]>`
    SELECT id FROM harvest_object WHERE guid = 'add' AND current`;
  assertEquals(pkg.harvest_object_id, cur!.id, "harvest fields point at the latest current object");
  const status2 = await act("harvest_source_show", { id: s.id });
  assertEquals((status2.status as Dict).total_datasets, 2);
});

Deno.test("a lot of imports commits together: links read ahead, one object written twice, a failure halves the lot", async () => {
  const { services, act, source } = await setup();
  await using _ = services;
  /** Gathers a new job of the source, then processes all its objects as one lot. */
  const runLot = async (records: Dict[]) => {
    await services.sql`UPDATE harvest_source SET config = ${JSON.stringify({ records })} WHERE id = ${s.id as string}`;
    const job = await act("harvest_job_create", { source_id: s.id, run: false });
    await services.sql`UPDATE harvest_job SET status = 'Running' WHERE id = ${job.id as string}`;
    await gatherJob(services, job.id as string, { publish: () => Promise.resolve() });
    const ids = (await services.sql<{ id: string }[]>`
      SELECT id FROM harvest_object WHERE harvest_job_id = ${job.id as string} ORDER BY guid`).map((r) => r.id);
    const outcomes = await processObjects(services, ids);
    await services.sql`UPDATE harvest_job SET status = 'Finished', finished = now() WHERE id = ${job.id as string}`;
    return { jobId: job.id as string, outcomes: [...outcomes.values()] };
  };
  const titles = async () =>
    Object.fromEntries(
      (await services.sql<{ name: string; title: string; state: string }[]>`
        SELECT name, title, state FROM package ORDER BY name`).map((p) => [p.name, `${p.title}/${p.state}`]),
    );
  const s = await source({});
  const first = await runLot([{ guid: "l1" }, { guid: "l2", import: "twice" }, { guid: "l3" }, { guid: "l4" }]);
  assertEquals(first.outcomes, ["added", "added", "added", "added"]);
  assertEquals(await titles(), { l1: "l1/active", l2: "l2/active", l3: "l3/active", l4: "l4/active" });

  // Updates, a withdrawal and a new record in one lot: each import sees its own link.
  const second = await runLot([
    { guid: "l1", title: "One" },
    { guid: "l2", title: "Two", import: "twice" },
    { guid: "l3", import: "delete" },
    { guid: "l4", title: "Four" },
    { guid: "l5" },
  ]);
  assertEquals(second.outcomes, ["updated", "updated", "deleted", "updated", "added"]);
  // One transaction: now() is its start, so every object of the lot has the same import_finished.
  const finishedTimes = async (jobId: string) =>
    new Set(
      (await services.sql<{ t: string }[]>`
        SELECT import_finished::text AS t FROM harvest_object WHERE harvest_job_id = ${jobId}`).map((r) => r.t),
    ).size;
  assertEquals(await finishedTimes(second.jobId), 1, "the lot committed as one, not one by one");
  assertEquals(await titles(), {
    l1: "One/active",
    l2: "Two/active",
    l3: "l3/deleted",
    l4: "Four/active",
    l5: "l5/active",
  });

  // A failing import rolls the lot back; each half is imported on its own (the first two together, the
  // failing one alone), the withdrawn one revived.
  const third = await runLot([{ guid: "l1", title: "Uno" }, { guid: "l3", title: "Back" }, {
    guid: "l4",
    import: "throw",
  }]);
  assertEquals(third.outcomes, ["updated", "added", "errored"]);
  assertEquals(await finishedTimes(third.jobId), 2, "after the failure, one transaction per half");
  assertEquals((await titles()).l1, "Uno/active");
  assertEquals((await titles()).l3, "Back/active", "revived under its old name");
  const currents = await services.sql<{ guid: string; n: number }[]>`
    SELECT guid, count(*)::int AS n FROM harvest_object WHERE harvest_source_id = ${s.id as string} AND current
    GROUP BY guid ORDER BY guid`;
  assertEquals(currents.map((c) => `${c.guid}:${c.n}`), ["l1:1", "l2:1", "l3:1", "l4:1", "l5:1"]);
  const objects3 = await objects(services, third.jobId);
  assertEquals(objects3.map((o) => `${o.guid}:${o.state}:${o.current}`), [
    "l1:COMPLETE:true",
    "l3:COMPLETE:true",
    "l4:ERROR:false",
  ]);
});

Deno.test("queue semantics: duplicate deliveries are harmless, the retry cap errors an object, a Finished job's objects error (§12.7)", async () => {
  const { services, act, source } = await setup();
  await using _ = services;
  const s = await source({ records: [{ guid: "x" }, { guid: "y" }, { guid: "z" }] });
  const job = await act("harvest_job_create", { source_id: s.id });
  // Duplicate gather messages: the second finds the job gathered and does nothing.
  await services.queue.publish("gather", [JSON.stringify({ harvest_job_id: job.id })]);
  await services.queue.publish("gather", ["not json", JSON.stringify({ nonsense: 1 })]);
  const ids = await services.sql<{ id: string; guid: string }[]>`SELECT id, guid FROM harvest_object`;
  assertEquals(ids.length, 0);
  await drainQueue(services, "gather");
  const objs = await services.sql<{ id: string; guid: string }[]>`
    SELECT id, guid FROM harvest_object WHERE harvest_job_id = ${job.id as string} ORDER BY guid`;
  assertEquals(objs.map((o) => o.guid), ["x", "y", "z"], "gathered once despite the duplicate message");
  // Two deliveries of the same object at once: only one processes it.
  const x = objs[0]!.id;
  await Promise.all([
    handleFetch(services, JSON.stringify({ harvest_object_id: x })),
    handleFetch(services, JSON.stringify({ harvest_object_id: x })),
  ]);
  const [row] = await services.sql<
    { retry_times: number; state: string }[]
  >`SELECT retry_times, state FROM harvest_object WHERE id = ${x}`;
  assertEquals(row, { retry_times: 1, state: "COMPLETE" });
  // An object delivered after five attempts is given up with a message.
  const y = objs[1]!.id;
  await services.sql`UPDATE harvest_object SET retry_times = 5 WHERE id = ${y}`;
  await handleFetch(services, JSON.stringify({ harvest_object_id: y }));
  const [given] = await services.sql<{ state: string; message: string }[]>`
    SELECT o.state, e.message FROM harvest_object o JOIN harvest_object_error e ON e.harvest_object_id = o.id WHERE o.id = ${y}`;
  assertEquals(given, { state: "ERROR", message: "Gave up after 5 attempts" });
  // Abort finishes the job with a finish time; a late delivery of its object errors it.
  const aborted = await act("harvest_job_abort", { id: job.id });
  assertEquals(aborted.status, "Finished");
  assert(aborted.finished !== null, "abort records a finish time");
  const [z] = await services.sql<{ state: string }[]>`SELECT state FROM harvest_object WHERE id = ${objs[2]!.id}`;
  assertEquals(z!.state, "ERROR");
});

Deno.test("the tick starts due sources, advances next_run even when a job exists, and re-queues lost work (§12.8)", async () => {
  const { services, act, source } = await setup();
  await using _ = services;
  const daily = await source({ records: [{ guid: "d" }] }, "DAILY");
  const manual = await source({ records: [{ guid: "m" }] }, "MANUAL");
  const r1 = await tick(services);
  assertEquals(r1.started.length, 1);
  const [d] = await services.sql<{ next_run: Date }[]>`SELECT next_run FROM harvest_source WHERE id = ${daily
    .id as string}`;
  assert(Math.abs(d!.next_run.getTime() - (Date.now() + 86_400_000)) < 60_000, "next_run is a day ahead");
  assertEquals((await act("harvest_job_list", { source_id: manual.id })).length as unknown, 0);
  // Due again while its job is still pending: no second job, next_run still advanced.
  await services.sql`UPDATE harvest_source SET next_run = now() - interval '1 minute' WHERE id = ${daily.id as string}`;
  const r2 = await tick(services);
  assertEquals(r2.started.length, 0);
  const [d2] = await services.sql<{ next_run: Date }[]>`SELECT next_run FROM harvest_source WHERE id = ${daily
    .id as string}`;
  assert(d2!.next_run.getTime() > Date.now());
  // The gather message is lost: the tick re-queues it after the visibility timeout.
  await services.queue.purge("gather");
  await new Promise((r) => setTimeout(r, 1500));
  const r3 = await tick(services);
  assertEquals(r3.requeuedJobs, 1);
  await drainQueue(services, "gather");
  // The fetch messages are lost too: re-queued once the fetch queue is empty.
  await services.queue.purge("fetch");
  await new Promise((r) => setTimeout(r, 1500));
  const r4 = await tick(services);
  assertEquals(r4.requeuedObjects, 1);
  await drain(services);
  const jobs = await act("harvest_job_list", { source_id: daily.id }) as unknown as Dict[];
  assertEquals(jobs.map((j) => j.status), ["Finished"]);
});

Deno.test("timeouts count from the last activity, add a gather error, and error what was left (§12.9)", async () => {
  for (const [minutes, expectTimeout] of [[3, true], [7, false]] as const) {
    const { services, act, source } = await setup({ CKAN__HARVEST__TIMEOUT: String(minutes) });
    await using _ = services;
    const s = await source({ records: [{ guid: "a" }, { guid: "b" }, { guid: "c" }, { guid: "left" }] });
    const job = await act("harvest_job_create", { source_id: s.id });
    await drainQueue(services, "gather");
    const objs = await services.sql<{ id: string; guid: string }[]>`
      SELECT id, guid FROM harvest_object WHERE harvest_job_id = ${job.id as string} ORDER BY guid`;
    for (const o of objs.slice(0, 3)) await handleFetch(services, JSON.stringify({ harvest_object_id: o.id }));
    // Make the activity 15, 10 and 5 minutes old.
    await services.sql`UPDATE harvest_job SET created = now() - interval '30 minutes',
      gather_started = now() - interval '29 minutes', gather_finished = now() - interval '20 minutes' WHERE id = ${job
      .id as string}`;
    await services.sql`UPDATE harvest_object SET gathered = now() - interval '20 minutes',
      fetch_started = now() - interval '16 minutes',
      import_finished = now() - (CASE guid WHEN 'a' THEN 15 WHEN 'b' THEN 10 ELSE 5 END) * interval '1 minute'
      WHERE harvest_job_id = ${job.id as string}`;
    const report = await tick(services);
    const after = await act("harvest_job_show", { id: job.id });
    if (expectTimeout) {
      assertEquals(report.timedOut, [job.id]);
      assertEquals(after.status, "Finished");
      assertMatch(
        String((after.gather_error_summary as Dict[])[0]!.message),
        new RegExp(`^Job ${job.id} timeout \\(3 minutes\\)`),
      );
      const [left] = await services.sql<{ state: string }[]>`SELECT state FROM harvest_object WHERE guid = 'left'`;
      assertEquals(left!.state, "ERROR");
    } else {
      assertEquals(report.timedOut, []);
      assertEquals(after.status, "Running", "the unprocessed object keeps the job running");
    }
  }
});

async function drainQueue(services: Services, queue: "gather" | "fetch") {
  const handler = queue === "gather" ? handleGather : handleFetch;
  while (await services.queue.depth(queue) > 0) {
    const controller = new AbortController();
    await services.queue.listen(queue, async (body) => {
      await handler(services, body);
      controller.abort();
    }, { signal: controller.signal, concurrency: 1 });
  }
}

async function assertRejectsMessage(fn: () => Promise<unknown>, pattern: RegExp) {
  try {
    await fn();
  } catch (error) {
    assertMatch(String((error as Error).message), pattern);
    return;
  }
  throw new Error(`Expected a rejection matching ${pattern}`);
}

Deno.test("deactivating or deleting a source aborts its New jobs, not its Running ones (§12.8)", async () => {
  const { services, act, source } = await setup();
  await using _ = services;
  const s = await source({ records: [{ guid: "a" }] });
  const fresh = await act("harvest_job_create", { source_id: s.id, run: false });
  await act("harvest_source_patch", { id: s.id, state: "deleted" });
  assertEquals((await act("harvest_job_show", { id: fresh.id })).status, "Aborted");
  await assertRejectsMessage(
    () => act("harvest_job_create", { source_id: s.id }),
    /Can not create jobs on inactive sources/,
  );
  const back = await act("harvest_source_patch", { id: s.id, state: "active", title: "Back again" });
  assertEquals([back.active, back.title], [true, "Back again"]);
  const running = await act("harvest_job_create", { source_id: s.id });
  assertEquals(await act("harvest_source_delete", { id: s.id }), { id: s.id });
  assertEquals((await act("harvest_job_show", { id: running.id })).status, "Running");
  const shown = await act("harvest_source_show", { id: s.id });
  assertEquals([shown.state, shown.active], ["deleted", false]);
  // A full update validates like create.
  await assertRejectsMessage(
    () => act("harvest_source_update", { id: s.id, name: s.name, url: s.url, source_type: "nosuch" }),
    /Unknown harvester type: nosuch/,
  );
});
