/**
 * Harvest benchmark: a synthetic CKAN catalog of N realistic datasets served on loopback, harvested
 * by the real CLI (`run-test`, in a subprocess whose peak RSS is read from /proc), for the embedded
 * database and a real PostgreSQL. Prints cold and no-change throughput, peak RSS at N/10 and N, and
 * the floor measured in the same run: the same pages fetched and the same documents written with
 * one bulk insert.
 *
 *   deno task bench [--n 20000] [--modes postgres,embedded] [--concurrency 4]
 *
 * PostgreSQL comes from BENCH_DATABASE_URL, else TEST_DATABASE_URL (`bash scripts/test_services.sh`).
 */
import postgres from "postgres";
import { parseArgs } from "node:util";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { freshPostgres, runCli as measuredCli } from "./measure.ts";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "20000" },
    modes: { type: "string", default: "postgres,embedded" },
    /** Lots imported at once by `run-test` (4 uses the two cores as well as 8, with less memory). */
    concurrency: { type: "string", default: "4" },
    /** The heap cap the deployed processes use (deno.json tasks, Dockerfile, compose, systemd). */
    "v8-flags": {
      type: "string",
      default: "--max-old-space-size=512,--max-semi-space-size=8,--initial-old-space-size=96",
    },
    /** Also harvest 10 x N to check that peak RSS stays flat. */
    "tenfold": { type: "boolean", default: false },
    /** PostgreSQL: print the statements that took the most time in the cold harvest (pg_stat_statements). */
    statements: { type: "boolean", default: false },
  },
});
const N = Number(args.n);
/** Cold harvest as a share of the floor measured in the same run, per mode; peak RSS on PostgreSQL. */
const TARGETS = { coldShare: { postgres: 0.5, embedded: 0.4 } as Record<string, number>, rssMb: 300 };

/** A CLI run; a harvest's time is the job's own, from its summary line. */
async function runCli(cliArgs: string[], env: Record<string, string>) {
  const run = await measuredCli(cliArgs, env, args["v8-flags"]);
  const seconds = Number(run.output.match(/finished in ([\d.]+) s/)?.[1] ?? run.seconds);
  return { ...run, seconds };
}

/** The floor: every page fetched as the harvester does, then every document written in one insert. */
async function floor(remoteUrl: string, sql: postgres.Sql): Promise<number> {
  const started = performance.now();
  const docs: { id: string; doc: string }[] = [];
  for (let start = 0;; start += 1000) {
    const res = await fetch(`${remoteUrl}/api/3/action/package_search?rows=1000&start=${start}&sort=id+asc`);
    const page = (await res.json()).result.results as Record<string, unknown>[];
    for (const d of page) docs.push({ id: d.id as string, doc: JSON.stringify(d) });
    if (page.length < 1000) break;
  }
  await sql`CREATE TEMP TABLE IF NOT EXISTS bench_floor (id text PRIMARY KEY, doc jsonb)`;
  await sql`TRUNCATE bench_floor`;
  // One bulk insert (in lots of 10,000: PostgreSQL caps a jsonb value at 256 MB).
  for (let i = 0; i < docs.length; i += 10_000) {
    await sql`INSERT INTO bench_floor SELECT x.id, x.doc::jsonb FROM jsonb_to_recordset(${
      sql.json(docs.slice(i, i + 10_000) as never)
    }) AS x(id text, doc text)`;
  }
  return (performance.now() - started) / 1000;
}

async function benchMode(mode: string, n: number, withFloor: boolean) {
  const remote = serveCkanCatalog(sampleCatalog({ count: n, seed: 424242 }));
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let floorUrl: string | undefined;
  if (mode === "postgres") {
    const db = await freshPostgres();
    env = { DATABASE_URL: db.url };
    floorUrl = db.url;
    cleanup = db.drop;
  } else {
    const dir = Deno.makeTempDirSync({ prefix: "harvest-bench-" });
    env = { HARVEST_DATA_DIR: dir };
    cleanup = () => Promise.resolve(Deno.removeSync(dir, { recursive: true }));
  }
  env.HARVEST_LOG_LEVEL = "error";
  env.CKAN__HARVEST__ALLOWED_HOSTS = "127.0.0.1"; // the synthetic catalog is on loopback
  try {
    await runCli(["db", "upgrade"], env).catch(() => {});
    // The floor reads 1,000-row pages; the harvest asks for the same (its default is the original's 100).
    await runCli(["source", "create", "bench-source", remote.url, "ckan", "", "", "", "MANUAL", '{"rows": 1000}'], env)
      .catch(() => {});
    const concurrency = args.concurrency!;
    const stats = args.statements && floorUrl ? postgres(floorUrl, { max: 1, onnotice: () => {} }) : undefined;
    if (stats) {
      await stats`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
      await stats`SELECT pg_stat_statements_reset()`;
    }
    const cold = await runCli(["run-test", "bench-source", "--concurrency", concurrency], env);
    if (stats) {
      const top = await stats<{ ms: number; calls: number; rows: number; query: string }[]>`
        SELECT round(s.total_exec_time)::int AS ms, s.calls::int, s.rows::int,
          left(regexp_replace(s.query, '\\s+', ' ', 'g'), 150) AS query
        FROM pg_stat_statements s WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY s.total_exec_time DESC LIMIT 15`;
      console.log("  cold harvest, the statements that took longest (pg_stat_statements):");
      for (const t of top) {
        console.log(
          `  ${String(t.ms).padStart(7)} ms ${String(t.calls).padStart(6)}x ${
            String(t.rows).padStart(7)
          } rows  ${t.query}`,
        );
      }
      await stats.end();
    }
    const unchanged = await runCli(["run-test", "bench-source", "--concurrency", concurrency], env);
    let floorSeconds: number | undefined;
    if (withFloor) {
      if (floorUrl) {
        const sql = postgres(floorUrl, { max: 1, onnotice: () => {} });
        floorSeconds = await floor(remote.url, sql);
        await sql.end();
      } else {
        const { loadConfig } = await import("../src/config/mod.ts");
        const { openDatabase } = await import("../src/db/mod.ts");
        const db = await openDatabase(loadConfig({ env }), { max: 1 });
        floorSeconds = await floor(remote.url, db.sql as unknown as postgres.Sql);
        await db.close();
      }
    }
    return { cold, unchanged, floorSeconds };
  } finally {
    await remote.close();
    await cleanup();
  }
}

const rate = (n: number, s: number) => Math.round(n / s);
console.log(`Harvest benchmark: N = ${N} datasets, run-test --concurrency ${args.concurrency}, ${Deno.build.os}`);
console.log(
  `Targets: cold >= ${TARGETS.coldShare.postgres} of the floor on PostgreSQL and >= ${TARGETS.coldShare.embedded} ` +
    `on the embedded database; peak RSS < ${TARGETS.rssMb} MB on PostgreSQL and flat when N grows tenfold`,
);
const SMALL = Math.max(100, Math.round(N / 10));
for (const mode of args.modes!.split(",")) {
  const small = await benchMode(mode, SMALL, false);
  const big = await benchMode(mode, N, true);
  const huge = args.tenfold ? await benchMode(mode, N * 10, false) : undefined;
  const floorRate = rate(N, big.floorSeconds!);
  console.log(`\n[${mode}]`);
  const share = (seconds: number) => (rate(N, seconds) / floorRate).toFixed(2);
  console.log(
    `  cold harvest:       ${rate(N, big.cold.seconds)} datasets/s (${big.cold.seconds.toFixed(1)} s), ` +
      `${share(big.cold.seconds)} of the floor`,
  );
  console.log(
    `  no-change harvest:  ${rate(N, big.unchanged.seconds)} datasets/s (${big.unchanged.seconds.toFixed(1)} s), ` +
      `${share(big.unchanged.seconds)} of the floor`,
  );
  console.log(`  floor (fetch pages + one bulk insert): ${floorRate} datasets/s (${big.floorSeconds!.toFixed(1)} s)`);
  console.log(
    `  peak RSS: ${big.cold.peakRssMb.toFixed(0)} MB cold / ${
      big.unchanged.peakRssMb.toFixed(0)
    } MB no-change at N = ${N}; ${small.cold.peakRssMb.toFixed(0)} MB cold at N = ${SMALL}`,
  );
  if (huge) {
    console.log(
      `  tenfold: N = ${N * 10}: cold ${rate(N * 10, huge.cold.seconds)} datasets/s, no-change ${
        rate(N * 10, huge.unchanged.seconds)
      } datasets/s, peak RSS ${huge.cold.peakRssMb.toFixed(0)} MB cold / ${
        huge.unchanged.peakRssMb.toFixed(0)
      } MB no-change`,
    );
  }
  const verdict = (ok: boolean) => ok ? "meets" : "misses";
  const coldTarget = TARGETS.coldShare[mode] ?? 0.5;
  console.log(
    `  targets: cold ${verdict(rate(N, big.cold.seconds) >= coldTarget * floorRate)} (${coldTarget} of the floor)` +
      (mode === "postgres" ? `, RSS ${verdict(big.cold.peakRssMb < TARGETS.rssMb)}` : ""),
  );
}
