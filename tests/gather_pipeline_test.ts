/**
 * The gather's pipeline: the next page is asked for while one is written, and `run-test`'s objects
 * are born held by it (the `claim` transition at insert).
 */
import { assert, assertEquals } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { gatherJob, readAhead } from "../src/harvest/gather.ts";
import { createJob, queueJob } from "../src/harvest/lifecycle.ts";
import { gatherErrorMessages } from "../src/harvest/reports.ts";
import { requeueLostObjects } from "../src/harvest/objects.ts";
import type { GatheredRecord, Harvester } from "../src/harvest/interface.ts";

const as = <T>(value: T) => ({ value });

/** A source whose remote is never asked: the tests hand their own harvester to the run. */
async function sourceOfItsOwn(ctx: Parameters<typeof runAction>[1], name: string): Promise<void> {
  await runAction(getAction("harvest_source_create")!, ctx, {
    name,
    url: "http://127.0.0.1:9/never-asked",
    source_type: "ckan",
    check_url: false,
  });
}

Deno.test("readAhead asks for the next page while one is handed on, at most one ahead", async () => {
  const asked: number[] = [];
  async function* pages() {
    for (let i = 0; i < 4; i++) {
      asked.push(i);
      await Promise.resolve();
      yield i;
    }
  }
  const seen: { page: number; askedWhenHanded: number }[] = [];
  for await (const page of readAhead(pages(), as)) {
    // Let the page read ahead be asked for before this one is "written".
    await new Promise((r) => setTimeout(r, 5));
    seen.push({ page, askedWhenHanded: asked.length });
  }
  assertEquals(seen.map((s) => s.page), [0, 1, 2, 3]);
  // While page i is being written, page i + 1 has been asked for, and no further one.
  assertEquals(seen.map((s) => s.askedWhenHanded), [2, 3, 4, 4]);
});

Deno.test("readAhead closes the harvester's generator when the gather stops early, and a failing page surfaces as the error", async () => {
  let closed = false;
  async function* endless() {
    try {
      for (let i = 0;; i++) yield i;
    } finally {
      closed = true;
    }
  }
  for await (const page of readAhead(endless(), as)) if (page === 2) break;
  assert(closed, "the generator's finally ran");

  async function* failing() {
    yield 1;
    throw new Error("the remote answered 500");
  }
  const got: number[] = [];
  let error: unknown;
  try {
    for await (const page of readAhead(failing(), as)) got.push(page);
  } catch (e) {
    error = e;
  }
  assertEquals(got, [1]);
  assertEquals((error as Error).message, "the remote answered 500");
});

Deno.test("readAhead asks for no page after one its check refused or called the last", async () => {
  const asked: number[] = [];
  async function* pages() {
    for (let i = 0; i < 5; i++) {
      asked.push(i);
      yield i;
    }
  }
  // A page over a limit (or repeating an earlier one) throws in the check: the remote is not asked again.
  const got: number[] = [];
  let error: unknown;
  try {
    for await (
      const page of readAhead(pages(), (p) => {
        if (p === 2) throw new Error("page 3 repeats page 1");
        return { value: p };
      })
    ) got.push(page);
  } catch (e) {
    error = e;
  }
  assertEquals(got, [0, 1]);
  assertEquals((error as Error).message, "page 3 repeats page 1");
  assertEquals(asked, [0, 1, 2]);
  // The last page (max_records reached) is handed on, and nothing after it is asked for.
  asked.length = 0;
  const last: number[] = [];
  for await (const page of readAhead(pages(), (p) => ({ value: p, last: p === 1 }))) last.push(page);
  assertEquals([last, asked], [[0, 1], [0, 1]]);
});

Deno.test("run-test's objects are born held by it: the sweep for lost messages leaves the ones waiting their turn alone", async () => {
  await using services = await testServices();
  const ctx = { services, actor: SITE_ACTOR };
  await sourceOfItsOwn(ctx, "held");
  const records = (from: number): GatheredRecord[] =>
    Array.from({ length: 5 }, (_, i) => ({ guid: `r${from + i}`, content: `{"n": ${from + i}}` }));
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  let importing!: () => void;
  const firstImport = new Promise<void>((r) => importing = r);
  const imported: string[] = [];
  const harvester: Harvester = {
    info: () => ({ name: "held", title: "Held", description: "imports slowly" }),
    async *gather() {
      yield records(0);
      yield records(5);
    },
    fetch: () => Promise.resolve(true),
    async import(c) {
      importing();
      await gate;
      imported.push(c.object.guid);
      return "unchanged";
    },
  };
  const source = await getSource(services.sql, "held");
  // One worker, lots of 100: the first lot's first import blocks while the rest wait in this process.
  const run = runJobInProcess(ctx, source, { concurrency: 1, harvester });
  await firstImport;
  // A scheduler's tick beside the run: unfinished objects nobody holds whose message is older than
  // the visibility timeout (0 here) would be queued again for the fetch consumers.
  const requeued = await requeueLostObjects(services.sql, 0);
  release();
  const summary = await run;
  assertEquals(requeued, [], "no object of the running run-test was handed to the queue");
  assertEquals(summary.stats["not modified"], 10, JSON.stringify(summary.stats));
  assertEquals(imported.length, 10);
  // Each was claimed once, at birth: one attempt counted, the fetch start recorded.
  const rows = await services.sql<{ retry_times: number; fetch_started: Date | null; state: string }[]>`
    SELECT retry_times, fetch_started, state FROM harvest_object`;
  assertEquals(rows.length, 10);
  for (const r of rows) {
    assertEquals(r.retry_times, 1);
    assert(r.fetch_started !== null);
    assertEquals(r.state, "COMPLETE");
  }
});

Deno.test("a page whose write fails fails the gather with a gather error; the page read ahead is not written", async () => {
  await using services = await testServices();
  const ctx = { services, actor: SITE_ACTOR };
  await sourceOfItsOwn(ctx, "pages");
  const source = await getSource(services.sql, "pages");
  let asked = 0;
  const harvester: Harvester = {
    info: () => ({ name: "pages", title: "Pages", description: "three pages" }),
    async *gather() {
      for (let p = 0; p < 3; p++) {
        asked++;
        yield Array.from({ length: 3 }, (_, i) => ({ guid: `p${p}-${i}`, content: `{"p": ${p}}` }));
      }
    },
    fetch: () => Promise.resolve(true),
    import: () => Promise.resolve(true),
  };
  const job = await queueJob(services, await createJob(services, source.id));
  const published: number[] = [];
  await gatherJob(services, job.id, {
    harvester,
    publish(ids) {
      if (published.push(ids.length) === 2) return Promise.reject(new Error("the broker refused the message"));
      return Promise.resolve();
    },
  });
  // The third page was asked for while the second was written, and dropped when that write failed.
  assertEquals([published, asked], [[3, 3], 3]);
  assertEquals(await gatherErrorMessages(services.sql, job.id), [
    "Gather stage failed: the broker refused the message",
  ]);
  const [count] = await services.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM harvest_object`;
  assertEquals(count!.n, 6, "the objects of the two pages written stay, for a job run again to skip");
});

/** A harvester whose records become datasets named after their guid, gathered in the pages given. */
function pagedHarvester(pages: string[][], gate?: Promise<void>): Harvester {
  return {
    info: () => ({ name: "paged", title: "Paged", description: "pages as given" }),
    async *gather() {
      for (const page of pages) yield page.map((guid) => ({ guid, content: JSON.stringify({ name: guid }) }));
    },
    fetch: () => Promise.resolve(true),
    async import(c) {
      await gate;
      return await c.catalog.createOrUpdateDataset({ name: c.object.guid, title: c.object.guid });
    },
  };
}

Deno.test("a source's first run-test writes each object once, finished; its gather ends only once they are written", async () => {
  await using services = await testServices();
  const ctx = { services, actor: SITE_ACTOR };
  await sourceOfItsOwn(ctx, "first");
  const source = await getSource(services.sql, "first");
  // Every row version an UPDATE makes of an object, counted.
  await services.sql.unsafe(`
    CREATE TABLE test_object_updates (id text);
    CREATE FUNCTION test_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO test_object_updates VALUES (NEW.id); RETURN NULL; END $$;
    CREATE TRIGGER test_count_update AFTER UPDATE ON harvest_object FOR EACH ROW EXECUTE FUNCTION test_count_update();`);
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const guids = Array.from({ length: 12 }, (_, i) => `d${i}`);
  const run = runJobInProcess(ctx, source, { harvester: pagedHarvester([guids.slice(0, 5), guids.slice(5)], gate) });
  // Both pages gathered, no import done: the job is not gathered yet, and no object is in the table.
  let job: { id: string; gather_finished: Date | null } | undefined;
  for (let i = 0; i < 100 && !job; i++) {
    await new Promise((r) => setTimeout(r, 20));
    [job] = await services.sql<{ id: string; gather_finished: Date | null }[]>`
      SELECT id, gather_finished FROM harvest_job WHERE source_id = ${source.id}`;
  }
  await new Promise((r) => setTimeout(r, 200));
  const [before] = await services.sql<{ gathered: Date | null; objects: number }[]>`
    SELECT (SELECT gather_finished FROM harvest_job WHERE id = ${job!.id}) AS gathered,
      (SELECT count(*)::int FROM harvest_object) AS objects`;
  assertEquals(before, { gathered: null, objects: 0 });
  release();
  const summary = await run;
  assertEquals(summary.stats.added, 12, JSON.stringify(summary.stats));
  const [after] = await services.sql<{ gathered: Date | null; objects: number; finished: number; updates: number }[]>`
    SELECT (SELECT gather_finished FROM harvest_job WHERE id = ${job!.id}) AS gathered,
      (SELECT count(*)::int FROM harvest_object) AS objects,
      (SELECT count(*)::int FROM harvest_object WHERE state = 'COMPLETE' AND current AND package_id IS NOT NULL
        AND report_status = 'added' AND retry_times = 1 AND import_finished IS NOT NULL) AS finished,
      (SELECT count(*)::int FROM test_object_updates) AS updates`;
  assert(after!.gathered !== null, "gathered once the objects are written");
  assertEquals([after!.objects, after!.finished, after!.updates], [12, 12, 0]);

  // The next run has current objects to compare with: its new records go the usual way (gathered
  // held, then finished), and the unchanged ones are complete at gather.
  const next = await runJobInProcess(ctx, source, { harvester: pagedHarvester([[...guids, "d12"]]) });
  assertEquals([next.stats.added, next.stats["not modified"]], [1, 12], JSON.stringify(next.stats));
  const [updates] = await services.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM test_object_updates`;
  assert(updates!.n > 0, "the second run's objects were written, then updated");
});

Deno.test("a record a first harvest's remote lists twice becomes one object and one dataset, whichever lot writes it", async () => {
  await using services = await testServices();
  const ctx = { services, actor: SITE_ACTOR };
  await sourceOfItsOwn(ctx, "twice");
  const source = await getSource(services.sql, "twice");
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const pages = [["a", "b", "c"], ["c", "d"]];
  const harvester: Harvester = {
    info: () => ({ name: "twice", title: "Twice", description: "lists c on two pages" }),
    async *gather() {
      for (const [p, page] of pages.entries()) {
        yield page.map((guid) => ({ guid, content: JSON.stringify({ name: guid, page: p }) }));
      }
    },
    fetch: () => Promise.resolve(true),
    async import(c) {
      // The first page's lot waits until the second page's lot has written "c" and "d".
      if (JSON.parse(c.object.content!).page === 0) await gate;
      return await c.catalog.createOrUpdateDataset({ name: c.object.guid, title: c.object.guid });
    },
  };
  const run = runJobInProcess(ctx, source, { concurrency: 2, harvester });
  for (let i = 0; i < 200; i++) {
    const [row] = await services.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM harvest_object WHERE guid = 'd'`;
    if (row!.n > 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  release();
  const summary = await run;
  assertEquals(summary.stats.added, 4, JSON.stringify(summary.stats));
  const [counts] = await services.sql<{ objects: number; guids: number; datasets: number }[]>`
    SELECT (SELECT count(*)::int FROM harvest_object) AS objects,
      (SELECT count(DISTINCT guid)::int FROM harvest_object) AS guids,
      (SELECT count(*)::int FROM package) AS datasets`;
  assertEquals(counts, { objects: 4, guids: 4, datasets: 4 });
});
