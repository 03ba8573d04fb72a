/**
 * The multi-host harness (issue 19): simulated hosts (network namespaces, bench/cluster.ts), one
 * "infra" host with PostgreSQL, Redis and RabbitMQ, the API on its own host, the remote catalog on
 * another, and worker hosts each running a worker and a scheduler with the harvester task's flags.
 * Needs root. Scenarios, each on a fresh database, for each backend asked for:
 *
 * - `death`: every process of one worker host killed and its link cut a third into a job;
 * - `partition`: one worker host cut off a third into a job, for longer than `dead_after`, then healed
 *   (it comes back with stale leases);
 * - `pause`: every process of one worker host frozen (SIGSTOP) for 20 s a fifth into a job, then thawed:
 *   its connections stay open, so when it thaws it goes on with the lot it had in hand;
 * - `fairness`: the N-dataset source and ten 100-dataset sources started together on three worker hosts;
 * - `politeness`: six slow sources of one remote gathered by workers on three hosts at once;
 * - `throughput`: one cold job by 1, 2, 4 and 6 workers (each on its own host), beside the database's
 *   write floor.
 *
 * Each checks that every dataset was imported exactly once. Prints a table, then one JSON line
 * starting `RESULT ` for tests/multihost_test.ts.
 *
 *   sudo deno run -A bench/multihost.ts [--backends postgres,redis,amqp] [--datasets 20000] [--net 0]  (allow-all: the driver only, which makes namespaces and starts servers; every product process it starts uses its deno.json task's flags)
 *     [--scenarios death,partition,pause,fairness,politeness,throughput]   (`name@backend`: on that backend only)
 *
 * @module
 */
import postgres from "postgres";
import { Cluster } from "./cluster.ts";
import { taskArgs } from "../tests/task_flags.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function option(name: string, fallback: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 && Deno.args[at + 1] ? Deno.args[at + 1]! : fallback;
}

const BACKENDS = option("backends", "postgres,redis,amqp").split(",");
const SCENARIOS = option("scenarios", "death,partition,pause,fairness,politeness,throughput").split(",");
/** Whether to run a scenario on a backend: `name` for every backend, `name@backend` for that one. */
const wants = (scenario: string, backend: string) =>
  SCENARIOS.some((s) => s === scenario || s === `${scenario}@${backend}`);
const N = Number(option("datasets", "20000"));
const WORKER_CONCURRENCY = option("concurrency", "4");
const NET = Number(option("net", "0"));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ScenarioResult {
  backend: string;
  scenario: string;
  /** The scenario's database. */
  db?: string;
  datasets: number;
  /** Packages in the catalog, objects reported added, distinct guids among them, objects in error. */
  packages: number;
  added: number;
  distinctAdded: number;
  errored: number;
  finished: boolean;
  seconds: number;
  /** Seconds from the disruption to the job's end (death, partition). */
  afterDisruption?: number;
  /** Seconds until the dead or cut-off host's leases were all released. */
  released?: number;
  /** Most requests the remote answered at once (politeness), and the limit. */
  most?: number;
  limit?: number;
  workers?: number;
  rate?: number;
  /** CPU seconds the database host's processes and the worker hosts' processes used during the job. */
  cpu?: { db: number; workers: number };
  note?: string;
}

const cluster = new Cluster(NET);
const hosts: Record<string, number> = { infra: 1, api: 2, remote: 3 };
for (let i = 1; i <= 6; i++) hosts[`w${i}`] = 10 + i;
const results: ScenarioResult[] = [];

async function main() {
  await cluster.create(hosts);
  const pg = await cluster.startPostgres("infra", [
    "shared_preload_libraries=pg_stat_statements",
    "pg_stat_statements.track=all",
  ]);
  const brokers: Record<string, Record<string, string>> = { postgres: {} };
  if (BACKENDS.includes("redis")) {
    brokers.redis = { CKAN__HARVEST__MQ__TYPE: "redis", CKAN__HARVEST__MQ__URL: await cluster.startRedis("infra") };
  }
  if (BACKENDS.includes("amqp")) {
    brokers.amqp = { CKAN__HARVEST__MQ__TYPE: "amqp", CKAN__HARVEST__MQ__URL: await cluster.startRabbit("infra") };
  }
  const admin = postgres({
    host: pg.socket,
    port: 5432,
    user: "postgres",
    database: "postgres",
    max: 1,
    onnotice: () => {},
  });
  const stats = `${cluster.dir}/remote.json`;
  const slowStats = `${cluster.dir}/remote-slow.json`;
  const deno = Deno.execPath();
  const remoteArgs = (port: number, count: number, delay: number, file: string, seed = 1919) => [
    deno,
    "run",
    "--allow-net",
    `--allow-write=${file}`,
    `${ROOT}bench/remote_catalog.ts`,
    cluster.address("remote"),
    String(port),
    String(count),
    String(delay),
    file,
    String(seed),
  ];
  const remote = cluster.spawn("remote", "remote", remoteArgs(8000, N, 0, stats));
  const slow = cluster.spawn("remote", "remote-slow", remoteArgs(8001, 250, 300, slowStats));
  const remoteUrl = `http://${cluster.address("remote")}:8000`;
  const slowUrl = `http://${cluster.address("remote")}:8001`;
  // Ten small catalogs of their own (distinct datasets), for the fairness scenario.
  const smalls = Array.from(
    { length: 10 },
    (_, i) =>
      cluster.spawn(
        "remote",
        `remote-small-${i}`,
        remoteArgs(8010 + i, 100, 0, `${cluster.dir}/small-${i}.json`, 500 + i),
      ),
  );
  const smallUrl = (i: number) => `http://${cluster.address("remote")}:${8010 + i}`;
  for (const p of [remote, slow, ...smalls]) {
    for (let i = 0; i < 600 && !/catalog of \d+ up/.test(p.output); i++) await sleep(50);
  }

  let serial = 0;
  /** A fresh database and site, the environment of every product process of one scenario. */
  async function scenarioEnv(backend: string, extra: Record<string, string> = {}) {
    const db = `s${Date.now()}_${serial++}`;
    await admin.unsafe(`CREATE DATABASE ${db}`);
    return {
      db,
      env: {
        DATABASE_URL: pg.url(db),
        CKAN__SITE_ID: db,
        CKAN__HARVEST__ALLOWED_HOSTS: `${cluster.subnet}.0/24`,
        HARVEST_LOG_LEVEL: "warning",
        ...brokers[backend],
        ...extra,
      } as Record<string, string>,
    };
  }
  /** The harvester CLI on the API host, to its end. */
  const cli = (args: string[], env: Record<string, string>) =>
    cluster.exec("api", [deno, ...taskArgs("harvester", args)], env);
  const startWorkers = (env: Record<string, string>, count: number, scheduler = true) => {
    for (let i = 1; i <= count; i++) {
      cluster.spawn(`w${i}`, `worker w${i}`, [
        deno,
        ...taskArgs("harvester", ["worker", "--concurrency", WORKER_CONCURRENCY]),
      ], env);
      if (scheduler) {
        cluster.spawn(
          `w${i}`,
          `scheduler w${i}`,
          [deno, ...taskArgs("harvester", ["scheduler", "--interval", "2"])],
          env,
        );
      }
    }
  };
  const stopWorkers = async () => {
    for (let i = 1; i <= 6; i++) {
      await cluster.heal(`w${i}`);
      await cluster.kill(`w${i}`);
    }
    await sleep(200);
  };

  /** Polls a job to its end; calls `at` once a share of its objects is done. */
  async function follow(sql: postgres.Sql, jobId: string, disrupt?: { share: number; run: () => Promise<void> }) {
    const started = Date.now();
    let disrupted: number | undefined;
    let pending: Promise<void> | undefined;
    for (;;) {
      const [row] = await sql<{ status: string; done: number }[]>`
        SELECT j.status, (SELECT coalesce(sum(t.objects), 0)::int FROM harvest_job_tally t WHERE t.job_id = j.id
          AND t.state IN ('COMPLETE', 'ERROR')) AS done FROM harvest_job j WHERE j.id = ${jobId}`;
      if (row?.status === "Finished") break;
      if (disrupt && disrupted === undefined && (row?.done ?? 0) >= N * disrupt.share) {
        disrupted = Date.now();
        // The disruption's own measurements go on beside the job.
        pending = disrupt.run();
      }
      if (Date.now() - started > 600_000) return { finished: false, seconds: 600, disrupted, start: started };
      await sleep(200);
    }
    const end = Date.now();
    await pending;
    return { finished: true, seconds: (end - started) / 1000, disrupted, end, start: started };
  }

  /** The counts of `counts`, over every job of a scenario's database (records told apart by source). */
  async function allCounts(sql: postgres.Sql) {
    const [row] = await sql<{ packages: number; added: number; distinct_added: number; errored: number }[]>`
      SELECT (SELECT count(*)::int FROM package) AS packages,
        count(*) FILTER (WHERE report_status = 'added')::int AS added,
        count(DISTINCT (harvest_source_id, guid)) FILTER (WHERE report_status = 'added')::int AS distinct_added,
        count(*) FILTER (WHERE state = 'ERROR')::int AS errored FROM harvest_object`;
    return { packages: row!.packages, added: row!.added, distinctAdded: row!.distinct_added, errored: row!.errored };
  }

  /** The first object and gather errors of a scenario's database, for its note. */
  async function errorsIn(sql: postgres.Sql): Promise<string> {
    const rows = await sql<{ message: string }[]>`
      (SELECT message FROM harvest_object_error LIMIT 3) UNION ALL (SELECT message FROM harvest_gather_error LIMIT 3)`;
    return rows.map((r) => r.message.slice(0, 300)).join(" | ");
  }

  async function counts(sql: postgres.Sql, jobId: string) {
    const [row] = await sql<{ packages: number; added: number; distinct_added: number; errored: number }[]>`
      SELECT (SELECT count(*)::int FROM package) AS packages,
        count(*) FILTER (WHERE report_status = 'added')::int AS added,
        count(DISTINCT guid) FILTER (WHERE report_status = 'added')::int AS distinct_added,
        count(*) FILTER (WHERE state = 'ERROR')::int AS errored
      FROM harvest_object WHERE harvest_job_id = ${jobId}`;
    return { packages: row!.packages, added: row!.added, distinctAdded: row!.distinct_added, errored: row!.errored };
  }

  /** The process ids (as their leases name them) of a host's processes. */
  async function idsOn(sql: postgres.Sql, host: string): Promise<string[]> {
    const pids = (await new Deno.Command("ip", { args: ["netns", "pids", cluster.ns(host)] }).output()).stdout;
    const list = new TextDecoder().decode(pids).split(/\s+/).filter(Boolean).map(Number);
    const rows = await sql<{ id: string }[]>`SELECT id FROM harvest_consumer WHERE pid = ANY(${list})`;
    return rows.map((r) => r.id);
  }

  /** CPU seconds used so far by the processes of some hosts (user + system, from /proc). */
  async function cpuOf(names: string[]): Promise<number> {
    let ticks = 0;
    for (const host of names) {
      const pids = new TextDecoder().decode(
        (await new Deno.Command("ip", { args: ["netns", "pids", cluster.ns(host)] })
          .output()).stdout,
      ).split(/\s+/).filter(Boolean);
      for (const pid of pids) {
        try {
          const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).replace(/^.*\) /, "").split(" ");
          ticks += Number(fields[11]) + Number(fields[12]);
        } catch { /* gone */ }
      }
    }
    return ticks / 100;
  }

  /** Waits (up to 5 s) until one of `ids` holds leases, so that the disruption strikes work in hand. */
  async function holding(sql: postgres.Sql, ids: string[]): Promise<number> {
    for (let i = 0;; i++) {
      const [row] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM harvest_object WHERE leased_by = ANY(${ids}) AND lease_until > now()
          AND state IN ('WAITING', 'FETCH', 'IMPORT')`;
      if (row!.n > 0 || i >= 500) return row!.n;
      await sleep(10);
    }
  }

  /** Seconds until no object is leased by any of `ids` any more, polled from `since`. */
  async function releasedAfter(sql: postgres.Sql, ids: string[], since: number): Promise<number> {
    for (;;) {
      const [row] = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM harvest_object WHERE leased_by = ANY(${ids}) AND lease_until > now()
          AND state IN ('WAITING', 'FETCH', 'IMPORT')`;
      if (row!.n === 0) return (Date.now() - since) / 1000;
      if (Date.now() - since > 600_000) return 600;
      await sleep(100);
    }
  }

  async function oneJob(
    backend: string,
    scenario: string,
    options: { workers: number; disrupt?: (sql: postgres.Sql) => Promise<Partial<ScenarioResult>> },
  ): Promise<ScenarioResult> {
    const { db, env } = await scenarioEnv(backend);
    const sql = postgres({ host: pg.socket, port: 5432, user: "postgres", database: db, max: 2, onnotice: () => {} });
    try {
      await cli(["db", "upgrade"], env);
      await cli(["source", "create", "big", remoteUrl, "ckan", "", "", "", "MANUAL", '{"rows": 1000}'], env);
      startWorkers(env, options.workers, scenario !== "throughput");
      // Every worker is heartbeating before the job starts, so that all of them share it from the start.
      for (let i = 0; i < 600; i++) {
        const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM harvest_consumer WHERE kind = 'worker'`
          .catch(() => [{ n: 0 }]);
        if (row!.n >= options.workers) break;
        await sleep(100);
      }
      const workerHosts = Array.from({ length: options.workers }, (_, i) => `w${i + 1}`);
      const cpuBefore = { db: await cpuOf(["infra"]), workers: await cpuOf(workerHosts) };
      const job = JSON.parse(await cli(["--json", "job", "big"], env)).id as string;
      let extra: Partial<ScenarioResult> = {};
      const ran = await follow(
        sql,
        job,
        options.disrupt &&
          {
            share: scenario === "death" ? 1 / 3 : 1 / 5,
            run: async () => void (extra = await options.disrupt!(sql)),
          },
      );
      const result: ScenarioResult = {
        backend,
        scenario,
        db,
        datasets: N,
        ...await counts(sql, job),
        finished: ran.finished,
        seconds: ran.seconds,
        ...extra,
      };
      if (ran.disrupted && ran.end) result.afterDisruption = (ran.end - ran.disrupted) / 1000;
      const problems = await errorsIn(sql);
      if (problems) result.note = `${result.note ?? ""} errors: ${problems}`;
      // A product process that ended by itself (not on a host the scenario killed) is a finding: say so.
      const killed = scenario === "death" ? "w1" : "";
      for (const p of cluster.procs.filter((p) => p.ended && p.host.startsWith("w") && p.host !== killed)) {
        if (p.ended! < ran.start) continue;
        result.note = `${result.note ?? ""}; ${p.host} ${p.label} ended by itself`;
        console.error(`--- ${p.host} ${p.label} ended by itself:\n${p.output.slice(-4000)}`);
      }
      if (Deno.args.includes("--statements")) {
        await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
        const top = await sql<{ ms: number; calls: number; query: string }[]>`
          SELECT round(total_exec_time)::int AS ms, calls::int, left(regexp_replace(query, '\\s+', ' ', 'g'), 140) AS query
          FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ${db}
          ORDER BY total_exec_time DESC LIMIT 15`;
        for (const t of top) {
          console.error(`${String(t.ms).padStart(7)} ms ${String(t.calls).padStart(7)}x  ${t.query}`);
        }
        await sql`SELECT pg_stat_statements_reset()`;
      }
      result.cpu = {
        db: (await cpuOf(["infra"])) - cpuBefore.db,
        workers: (await cpuOf(workerHosts)) - cpuBefore.workers,
      };
      if (scenario === "partition" || scenario === "pause") {
        const host = scenario === "partition" ? "w2" : "w3";
        const w2 = cluster.procs.filter((p) => p.host === host && p.label.startsWith("worker")).at(-1)!;
        const fenced = [...w2.output.matchAll(/Left (\d+) object\(s\) to the process that holds them now/g)]
          .reduce((n, m) => n + Number(m[1]), 0);
        const alive = (await idsOn(sql, host)).length;
        result.note = `${result.note}; afterwards its worker left ${fenced} stale import(s) to their new holders, ` +
          `${alive} of its processes heartbeating again`;
      }
      if (extra.released !== undefined && ran.disrupted) result.released = extra.released;
      return result;
    } finally {
      await stopWorkers();
      await sql.end();
    }
  }

  for (const backend of BACKENDS) {
    /**
     * Strikes one worker host while it holds work, measures when its leases are released, and after
     * `ms` from the strike runs `after` (a heal, a thaw), leaving it `settle` ms to come back.
     */
    const strikeHost = (host: string, what: string, strike: () => Promise<void>, later?: {
      ms: number;
      after: () => Promise<void>;
      settle: number;
    }) =>
    async (sql: postgres.Sql): Promise<Partial<ScenarioResult>> => {
      const ids = await idsOn(sql, host);
      const held = await holding(sql, ids);
      const since = Date.now();
      await strike();
      const released = await releasedAfter(sql, ids, since);
      if (later) {
        await sleep(Math.max(0, later.ms - (Date.now() - since)));
        await later.after();
        await sleep(later.settle);
      }
      return { released, note: `${host} ${what}, holding ${held} objects` };
    };
    if (wants("death", backend)) {
      const disrupt = strikeHost("w1", "killed (all its processes) and cut off", async () => {
        await cluster.kill("w1");
        await cluster.cut("w1");
      });
      results.push(await oneJob(backend, "death", { workers: 3, disrupt }));
    }
    if (wants("partition", backend)) {
      // Cut off for 15 s in all, longer than `dead_after`: its work was handed on; then it comes back.
      const disrupt = strikeHost("w2", "cut off for 15 s, then healed", () => cluster.cut("w2"), {
        ms: 15_000,
        after: () => cluster.heal("w2"),
        settle: 8000,
      });
      results.push(await oneJob(backend, "partition", { workers: 3, disrupt }));
    }
    if (wants("pause", backend)) {
      // Frozen, its connections stay open: it cannot tell it was gone when it thaws.
      const disrupt = strikeHost("w3", "frozen for 20 s, then thawed", () => cluster.freeze("w3", true), {
        ms: 20_000,
        after: () => cluster.freeze("w3", false),
        settle: 5000,
      });
      results.push(await oneJob(backend, "pause", { workers: 3, disrupt }));
    }
    if (wants("fairness", backend)) {
      // The big source (all N datasets) first, then ten sources of 100, all started at once.
      const { db, env } = await scenarioEnv(backend);
      const sql = postgres({ host: pg.socket, port: 5432, user: "postgres", database: db, max: 2, onnotice: () => {} });
      try {
        await cli(["db", "upgrade"], env);
        await cli(["source", "create", "big", remoteUrl, "ckan", "", "", "", "MANUAL", '{"rows": 1000}'], env);
        for (let i = 0; i < 10; i++) {
          // --shared-small: the ten are one catalog under ten paths (the same dataset names ten times).
          const url = Deno.args.includes("--shared-small") ? `${smallUrl(0)}/site-${i}` : smallUrl(i);
          await cli(["source", "create", `small-${i}`, url, "ckan", "", "", "", "MANUAL"], env);
        }
        startWorkers(env, 3, false);
        await sleep(3000);
        const started = Date.now();
        await cli(["job", "big"], env);
        await cli(["job-all"], env);
        const finished = new Map<string, number>();
        while (finished.size < 11 && Date.now() - started < 900_000) {
          const rows = await sql<{ name: string }[]>`
            SELECT s.name FROM harvest_job j JOIN harvest_source s ON s.id = j.source_id WHERE j.status = 'Finished'`;
          for (const r of rows) if (!finished.has(r.name)) finished.set(r.name, (Date.now() - started) / 1000);
          await sleep(250);
        }
        const lastSmall = Math.max(...[...finished].filter(([n]) => n !== "big").map(([, t]) => t));
        const c = await allCounts(sql);
        results.push({
          backend,
          scenario: "fairness",
          datasets: N + 1000,
          ...c,
          finished: finished.size === 11,
          seconds: finished.get("big") ?? 900,
          note: `the ten small sources all finished after ${lastSmall.toFixed(1)} s, the big one after ` +
            `${(finished.get("big") ?? 900).toFixed(1)} s ${await errorsIn(sql)}`,
        });
      } finally {
        await stopWorkers();
        await sql.end();
      }
    }
    if (wants("politeness", backend)) {
      const { db, env } = await scenarioEnv(backend, { CKAN__HARVEST__HTTP__PER_HOST_CONCURRENCY: "2" });
      const sql = postgres({ host: pg.socket, port: 5432, user: "postgres", database: db, max: 2, onnotice: () => {} });
      try {
        await cli(["db", "upgrade"], env);
        for (let i = 0; i < 6; i++) {
          await cli([
            "source",
            "create",
            `polite-${i}`,
            `${slowUrl}/site-${i}`,
            "ckan",
            "",
            "",
            "",
            "MANUAL",
            '{"rows": 50}',
          ], env);
        }
        await Deno.writeTextFile(slowStats, JSON.stringify({ most: 0, total: 0 }));
        await sleep(300);
        startWorkers(env, 3, false);
        await sleep(3000);
        const started = Date.now();
        await cli(["job-all"], env);
        let finished = 0;
        while (finished < 6 && Date.now() - started < 300_000) {
          const [row] = await sql<
            { n: number }[]
          >`SELECT count(*)::int AS n FROM harvest_job WHERE status = 'Finished'`;
          finished = row!.n;
          await sleep(200);
        }
        await sleep(300);
        const seen = JSON.parse(await Deno.readTextFile(slowStats)) as { most: number; total: number };
        const c = await allCounts(sql);
        results.push({
          backend,
          scenario: "politeness",
          datasets: 6 * 250,
          ...c,
          finished: finished === 6,
          seconds: (Date.now() - started) / 1000,
          most: seen.most,
          limit: 2,
          note: `${seen.total} requests`,
        });
      } finally {
        await stopWorkers();
        await sql.end();
      }
    }
    if (wants("throughput", backend)) {
      for (const workers of [1, 2, 4, 6]) {
        const r = await oneJob(backend, "throughput", { workers });
        results.push({ ...r, workers, rate: Math.round(N / r.seconds) });
      }
      const floor = await writeFloor(admin);
      results.push({
        backend,
        scenario: "floor",
        datasets: N,
        packages: 0,
        added: 0,
        distinctAdded: 0,
        errored: 0,
        finished: true,
        seconds: floor,
        rate: Math.round(N / floor),
        note: "one bulk insert of every document",
      });
    }
  }
  await admin.end();
}

/** The database's write floor: every document of the catalog in one bulk insert, through the socket. */
async function writeFloor(admin: postgres.Sql): Promise<number> {
  const docs = sampleCatalog({ count: N, seed: 1919 }).datasets.map((d) => ({
    id: String(d.id),
    doc: JSON.stringify(d),
  }));
  await admin`CREATE TEMP TABLE IF NOT EXISTS floor (id text PRIMARY KEY, doc jsonb)`;
  await admin`TRUNCATE floor`;
  const started = performance.now();
  for (let i = 0; i < docs.length; i += 10_000) {
    await admin`INSERT INTO floor SELECT x.id, x.doc::jsonb FROM jsonb_to_recordset(${
      admin.json(docs.slice(i, i + 10_000) as never)
    }) AS x(id text, doc text)`;
  }
  return (performance.now() - started) / 1000;
}

function table(rows: ScenarioResult[]): string {
  const lines = rows.map((r) =>
    [
      r.backend.padEnd(8),
      r.scenario.padEnd(10),
      String(r.workers ?? "").padStart(2),
      `${r.seconds.toFixed(1)} s`.padStart(8),
      r.rate ? `${r.rate}/s`.padStart(8) : "".padStart(8),
      r.afterDisruption !== undefined ? `end ${r.afterDisruption.toFixed(1)} s after` : "",
      r.released !== undefined ? `released in ${r.released.toFixed(1)} s` : "",
      r.most !== undefined ? `most in flight ${r.most} (limit ${r.limit})` : "",
      r.cpu ? `cpu: db ${r.cpu.db.toFixed(1)} s, workers ${r.cpu.workers.toFixed(1)} s` : "",
      r.scenario === "floor"
        ? ""
        : `${r.packages} datasets, ${r.added} added (${r.distinctAdded} distinct), ${r.errored} errors`,
      r.note ?? "",
    ].filter(Boolean).join("  ")
  );
  return lines.join("\n");
}

try {
  await main();
} catch (error) {
  console.error(error);
  for (const p of cluster.procs) console.error(`--- ${p.label}\n${p.output.slice(-3000)}`);
  results.push({
    backend: "-",
    scenario: "harness",
    datasets: 0,
    packages: 0,
    added: 0,
    distinctAdded: 0,
    errored: 0,
    finished: false,
    seconds: 0,
    note: String(error),
  });
} finally {
  if (Deno.env.get("HARNESS_KEEP_LOGS")) {
    for (const p of cluster.procs) console.error(`--- ${p.label}\n${p.output.slice(-3000)}`);
  }
  await cluster[Symbol.asyncDispose]();
}
console.log(table(results));
console.log(`RESULT ${JSON.stringify(results)}`);
