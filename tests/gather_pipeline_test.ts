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
