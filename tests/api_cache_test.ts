/**
 * Issue 18, part 2: what the API shows per source and per job comes from counters kept as objects
 * change (migration 0013), and read-only answers are cached until anything commits. Both are checked
 * as users run them: the server and the CLI with their tasks' flags, writes made by another process
 * (the CLI) while the server holds cached answers, against a CKAN-shaped remote.
 */
import postgres from "postgres";
import { assert, assertEquals } from "./assert.ts";
import { cli, freshDatabase, serve } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

type Dict = Record<string, unknown>;

async function get(base: string, action: string, token: string, params: Record<string, string> = {}) {
  const res = await fetch(`${base}/api/3/action/${action}?${new URLSearchParams(params)}`, {
    headers: { Authorization: token },
  });
  const body = await res.json();
  return { status: res.status, cache: res.headers.get("X-Harvest-Cache"), result: body.result, error: body.error };
}

/** Asks again: the answer must now come from the cache. */
async function hit(base: string, action: string, token: string, params: Record<string, string> = {}) {
  const answer = await get(base, action, token, params);
  assertEquals(answer.cache, "hit");
  return answer;
}

/** A fresh database with the schema applied by the CLI, and a connection to it, both closed when disposed. */
async function migratedDatabase(max: number) {
  const db = await freshDatabase();
  assertEquals((await cli(["db", "upgrade"], { DATABASE_URL: db.url })).code, 0);
  const sql = postgres(db.url, { max, onnotice: () => {} });
  return {
    url: db.url,
    sql,
    async [Symbol.asyncDispose]() {
      await sql.end();
      await db[Symbol.asyncDispose]();
    },
  };
}

Deno.test("cached answers end with any write to the catalog, from any process; counters match a count of the objects", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const catalog = sampleCatalog({ count: 12, seed: 11 });
  await using remote = serveCkanCatalog(catalog);
  assertEquals((await cli(["source", "create", "cached", remote.url, "ckan"], env)).code, 0);
  assertEquals(JSON.parse((await cli(["--json", "run-test", "cached"], env)).stdout).stats.added, 12);
  assertEquals((await cli(["user", "add", "cache-admin", "--sysadmin"], env)).code, 0);
  const made = (await cli(["--json", "user", "token", "add", "cache-admin", "t"], env)).stdout;
  const { id: tokenId, token } = JSON.parse(made.slice(made.indexOf("{"), made.lastIndexOf("}") + 1));
  const { url, proc } = await serve(env);
  await using _server = proc;
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const direct = async () =>
      Number(
        (await sql`SELECT count(*)::int AS n FROM harvest_object o JOIN package p ON p.id = o.package_id
        WHERE o.current AND p.state = 'active' AND NOT p.private`)[0]!.n,
      );

    // A token's first use in a minute writes its last_access, a commit like any other: once here.
    assertEquals((await get(url, "status_show", token)).status, 200);
    // Computed once, then served from the cache while nothing is written.
    const first = await get(url, "harvest_source_show", token, { id: "cached" });
    assertEquals(first.status, 200);
    assertEquals(first.cache, "miss");
    const second = await hit(url, "harvest_source_show", token, { id: "cached" });
    assertEquals(second.result, first.result);
    const status = first.result.status as Dict;
    assertEquals(status.total_datasets, 12);
    assertEquals((status.last_job as Dict).stats, { added: 12, updated: 0, "not modified": 0, errored: 0, deleted: 0 });
    assertEquals([(status.last_job as Dict).objects_total, (status.last_job as Dict).objects_done], [12, 12]);
    assertEquals((await get(url, "package_search", token, { rows: "0" })).result.count, 12);
    await hit(url, "package_search", token, { rows: "0" });

    // Another process harvests: two datasets withdrawn at the remote, one changed. The next answer is
    // computed afresh, and the counters agree with a count of the objects.
    const [d0, d1, d2] = catalog.datasets as Dict[];
    d0!.state = "deleted";
    d1!.state = "deleted";
    d2!.title = "A retitled dataset";
    d2!.metadata_modified = new Date().toISOString().slice(0, 19);
    const rerun = JSON.parse((await cli(["--json", "run-test", "cached"], env)).stdout);
    assertEquals([rerun.stats.deleted, rerun.stats.updated], [2, 1]);
    const after = await get(url, "harvest_source_show", token, { id: "cached" });
    assertEquals(after.cache, "miss");
    const afterStatus = after.result.status as Dict;
    assertEquals(afterStatus.total_datasets, 10);
    assertEquals(await direct(), 10);
    assertEquals(afterStatus.job_count, 2);
    assertEquals((afterStatus.last_job as Dict).stats, {
      added: 0,
      updated: 1,
      "not modified": 9,
      errored: 0,
      deleted: 2,
    });
    assertEquals((await get(url, "package_search", token, { rows: "0" })).result.count, 10);
    assertEquals((await get(url, "package_show", token, { id: String(d2!.name) })).result.title, "A retitled dataset");
    // Each job keeps its own figures: the first job's report did not move.
    const jobs = (await get(url, "harvest_job_list", token, { source_id: "cached" })).result as Dict[];
    assertEquals(jobs.map((j) => (j.stats as Dict).added), [0, 12]);

    // A dataset hidden in the database moves its source's counter (the package trigger).
    await sql`UPDATE package SET private = true WHERE name = ${String(d2!.name)}`;
    assertEquals(
      ((await get(url, "harvest_source_show", token, { id: "cached" })).result.status as Dict).total_datasets,
      9,
    );
    assertEquals(await direct(), 9);

    // A token revoked by another process stops working at once, although its actor was cached.
    assertEquals((await cli(["user", "token", "revoke", tokenId], env)).code, 0);
    const refused = await get(url, "harvest_source_show", token, { id: "cached" });
    assertEquals(refused.status, 403);

    // Clearing the source: counters at zero, and what is left of them removed.
    assertEquals((await cli(["source", "clear", "cached"], env)).code, 0);
    const anon = await fetch(`${url}/api/3/action/harvest_source_show?id=cached`);
    assertEquals(((await anon.json()).result.status as Dict).total_datasets, 0);
    const left = await sql`SELECT count(*)::int AS n FROM harvest_job_tally`;
    assertEquals(left[0]!.n, 0);
  } finally {
    await sql.end();
  }
});

Deno.test("with ckan.harvest.api.cache_entries = 0 every answer is computed", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__API__CACHE_ENTRIES: "0" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const { url, proc } = await serve(env);
  await using _server = proc;
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${url}/api/3/action/package_search?rows=0`);
    assertEquals(res.status, 200);
    assert(res.headers.get("X-Harvest-Cache") === null);
    assertEquals((await res.json()).result.count, 0);
  }
});

Deno.test("answers that follow from stored data alone have no age limit; clock-bound ones are made afresh", async () => {
  const { AnswerCache, isTimeless } = await import("../src/api/cache.ts");
  await using db = await migratedDatabase(1);
  const { sql } = db;
  assert(isTimeless("package_search", { q: "water" }));
  assert(!isTimeless("package_search", { fq: "metadata_modified:[NOW-7DAYS TO NOW]" }));
  assert(isTimeless("package_show", { id: "x" }));
  assert(!isTimeless("harvest_source_show", { id: "x" }));
  // Every answer is older than the age limit (0 s) as soon as it is kept.
  const cache = new AnswerCache(sql as never, 10, 0);
  for (const timeless of [true, false]) {
    let computed = 0;
    const compute = () => Promise.resolve(++computed);
    for (let i = 0; i < 3; i++) {
      await cache.request().get(`k${timeless}`, compute, () => 0, timeless);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (timeless) assertEquals(computed, 1, "a timeless answer is computed once");
    else assert(computed > 1, `a clock-bound answer past its age is made afresh (computed ${computed} time(s))`);
  }
});

Deno.test("a write committed while an answer is computed keeps it out of the cache", async () => {
  const { AnswerCache } = await import("../src/api/cache.ts");
  await using db = await migratedDatabase(2);
  const { sql } = db;
  const cache = new AnswerCache(sql as never, 10, 60_000);
  let computed = 0;
  const writing = async () => {
    computed++;
    await sql`INSERT INTO "user" (id, name) VALUES (${crypto.randomUUID()}, ${`u${computed}`})`;
    return computed;
  };
  assertEquals((await cache.request().get("k", writing, () => 0, true)).value, 1);
  assertEquals((await cache.request().get("k", writing, () => 0, true)).value, 2);
  const reading = () => Promise.resolve(++computed);
  assertEquals((await cache.request().get("k", reading, () => 0, true)).value, 3);
  assertEquals(await cache.request().get("k", reading, () => 0, true), { value: 3, hit: true });
});

Deno.test("what the cache watches: every table but heartbeats, queue messages, locks and counters' deltas", async () => {
  // Migration 0019 leaves these unwatched (api_token is watched but for its last_access column).
  const unwatched = [
    "data_change",
    "data_change_cutoff",
    "harvest_consumer",
    "harvest_queue",
    "harvest_lock",
    "harvest_host_slot",
    "web_session",
    "login_throttle",
    "harvest_source_tally",
    "harvest_job_tally",
    "catalog_tally",
  ];
  await using db = await migratedDatabase(1);
  const { sql } = db;
  const rows = await sql<{ table: string; triggers: string[] }[]>`
    SELECT c.relname AS table, coalesce(array_agg(t.tgname ORDER BY t.tgname)
      FILTER (WHERE t.tgname LIKE 'data_change%'), '{}') AS triggers
    FROM pg_class c LEFT JOIN pg_trigger t ON t.tgrelid = c.oid
    WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace GROUP BY 1 ORDER BY 1`;
  const all = ["data_change_delete", "data_change_insert", "data_change_truncate", "data_change_update"];
  for (const { table, triggers } of rows) {
    // A table added by a later migration must be watched (migration 0019's loop) or listed above.
    assertEquals(triggers, unwatched.includes(table) ? [] : all, `table ${table}`);
  }
  assert(rows.some((r) => r.table === "package") && rows.some((r) => r.table === "harvest_consumer"));
});

Deno.test("a quiet catalog keeps its cached answers; a change made with psql, even to a child row, ends them", async () => {
  await using db = await freshDatabase();
  await using other = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  assertEquals((await cli(["db", "upgrade"], { DATABASE_URL: other.url })).code, 0);
  const catalog = sampleCatalog({ count: 5, seed: 3 });
  await using remote = serveCkanCatalog(catalog);
  assertEquals((await cli(["source", "create", "quiet", remote.url, "ckan"], env)).code, 0);
  assertEquals(JSON.parse((await cli(["--json", "run-test", "quiet"], env)).stdout).stats.added, 5);
  assertEquals((await cli(["user", "add", "quiet-admin", "--sysadmin"], env)).code, 0);
  const made = (await cli(["--json", "user", "token", "add", "quiet-admin", "t"], env)).stdout;
  const { token } = JSON.parse(made.slice(made.indexOf("{"), made.lastIndexOf("}") + 1));
  // The all-in-one server: its consumers heartbeat and its scheduler ticks while the test runs.
  const { url, proc } = await serve({ ...env, CKAN__HARVEST__ALL_IN_ONE: "true" });
  await using _server = proc;
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  const elsewhere = postgres(other.url, { max: 1, onnotice: () => {} });
  try {
    const name = String((catalog.datasets as Dict[])[0]!.name);
    const show = () => get(url, "package_show", token, { id: name });
    const search = () => get(url, "package_search", token, { q: "", rows: "2" });
    assertEquals((await show()).cache, "miss");
    assertEquals((await search()).cache, "miss");
    // Writes that change no answer: a heartbeat, a token's last use, a queue message, a statement
    // (an update) that changes no row, statistics, a write in another database of the same cluster, a tick.
    await sql`UPDATE harvest_consumer SET last_seen = now()`;
    await sql`UPDATE api_token SET last_access = now() - interval '1 hour'`;
    await sql`INSERT INTO harvest_queue (queue, body) VALUES ('test', '{}')`;
    await sql`UPDATE package SET title = 'never' WHERE false`;
    await sql`ANALYZE package`;
    await elsewhere`INSERT INTO "user" (id, name) VALUES ('elsewhere', 'elsewhere')`;
    // A scheduler's tick with nothing to do (its lock, sweeps that find nothing, a prune).
    assertEquals((await cli(["run"], env)).code, 0);
    await new Promise((r) => setTimeout(r, 3_500)); // past a heartbeat (every 3 s)
    assertEquals((await show()).cache, "hit");
    assertEquals((await search()).cache, "hit");

    // A child row changed by hand, under no counter: the next answers are computed again.
    await sql`UPDATE package_extra SET value = 'by hand' WHERE package_id = (SELECT id FROM package WHERE name = ${name})
      AND key = (SELECT min(key) FROM package_extra e JOIN package p ON p.id = e.package_id WHERE p.name = ${name})`;
    const changed = await show();
    assertEquals(changed.cache, "miss");
    assert((changed.result.extras as Dict[]).some((e) => e.value === "by hand"), "the new value is shown");
    assertEquals((await search()).cache, "miss");
    assertEquals((await show()).cache, "hit");

    // Noted changes pruned (here at once): an answer older than the cutoff is computed again, since
    // what committed after it can no longer be told.
    await sql`UPDATE package SET notes = 'pruned' WHERE name = ${name}`; // noted, then pruned below
    const { pruneChanges } = await import("../src/db/changes.ts");
    // Only ids below the cluster's oldest running transaction go (the suite's other files run
    // beside): pruned until none is left, the retitling's among them.
    const left = async () => (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM data_change`)[0]!.n;
    for (let i = 0; i < 100 && await left() > 0; i++) {
      await pruneChanges(sql as never, 0);
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(await left(), 0, "every noted change is pruned");
    const afterPrune = await show();
    assertEquals(afterPrune.cache, "miss");
    assertEquals(afterPrune.result.notes, "pruned");
    assertEquals((await show()).cache, "hit");
  } finally {
    await sql.end();
    await elsewhere.end();
  }
});

Deno.test("a write under way when an answer was computed ends it once it commits", async () => {
  const { AnswerCache } = await import("../src/api/cache.ts");
  await using db = await migratedDatabase(2);
  const { sql } = db;
  const cache = new AnswerCache(sql as never, 10, 60_000);
  let computed = 0;
  const compute = () => Promise.resolve(++computed);
  let commit!: () => void;
  const held = new Promise<void>((r) => commit = r);
  let wrote!: () => void;
  const written = new Promise<void>((r) => wrote = r);
  // A transaction writes a watched table and stays open: the answer is computed under a snapshot
  // that lists it as running, and is kept, since it has not committed.
  const tx = sql.begin(async (t) => {
    await t`INSERT INTO "user" (id, name) VALUES ('running', 'running')`;
    wrote();
    await held;
  });
  await written;
  // A later transaction commits first, so the snapshot's horizon passes the open one (it is in the
  // snapshot's list of running transactions, not beyond it).
  await sql`INSERT INTO "user" (id, name) VALUES ('later', 'later')`;
  assertEquals(await cache.request().get("k", compute, () => 0, true), { value: 1, hit: false });
  assertEquals(await cache.request().get("k", compute, () => 0, true), { value: 1, hit: true });
  commit();
  await tx;
  assertEquals(await cache.request().get("k", compute, () => 0, true), { value: 2, hit: false });
});
