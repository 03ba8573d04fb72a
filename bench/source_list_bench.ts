/**
 * Web source list benchmark: N sources (default 10,000) in 20 organizations, each with a finished
 * job and 50 current datasets, on the benchmark's PostgreSQL. Times `GET /harvest` (search, facets,
 * sort and one page) for an anonymous visitor, in-process through Hono, against the floor measured
 * in the same run: one statement reading every source row.
 *
 *   deno task bench:web [--n 10000]
 *
 * PostgreSQL comes from BENCH_DATABASE_URL, else TEST_DATABASE_URL (`bash scripts/test_services.sh`).
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/mod.ts";
import { openServices } from "../src/services.ts";
import { migrate } from "../src/db/migrate.ts";
import { createApp } from "../src/api/mod.ts";
import { freshPostgres } from "./measure.ts";

const { values: args } = parseArgs({ options: { n: { type: "string", default: "10000" } } });
const N = Number(args.n);
const TARGET_MS = 500;

const db = await freshPostgres("harvest_bench_web");
const services = await openServices(loadConfig({ env: { DATABASE_URL: db.url, HARVEST_LOG_LEVEL: "error" } }));
try {
  const { sql } = services;
  await migrate(sql);
  await sql`INSERT INTO "group" (id, name, title, is_organization)
    SELECT 'org' || i, 'org-' || i, 'Org ' || i, true FROM generate_series(1, 20) i`;
  await sql`INSERT INTO harvest_source (id, name, title, url, url_normalized, type, frequency, owner_org)
    SELECT 's' || i, 'src-' || i, 'Source ' || i, 'http://remote.example/' || i, 'remote.example/' || i, 'ckan',
      (ARRAY['MANUAL', 'DAILY', 'WEEKLY'])[i % 3 + 1], 'org' || (i % 20 + 1)
    FROM generate_series(1, ${N}) i`;
  await sql`INSERT INTO harvest_job (id, source_id, status, finished)
    SELECT 'j' || i, 's' || i, 'Finished', now() FROM generate_series(1, ${N}) i`;
  await sql`INSERT INTO package (id, name, title) SELECT 'p' || i, 'pkg-' || i, 'P' FROM generate_series(1, ${
    N * 50
  }) i`;
  await sql`INSERT INTO harvest_object (id, guid, harvest_job_id, harvest_source_id, package_id, current, state,
      report_status)
    SELECT 'o' || i, 'g' || i, 'j' || (i % ${N} + 1), 's' || (i % ${N} + 1), 'p' || i, true, 'COMPLETE', 'added'
    FROM generate_series(1, ${N * 50}) i`;
  // Every tenth job has an object error, so the "Last job" facet has both outcomes.
  await sql`INSERT INTO harvest_object_error (id, harvest_object_id, message, stage)
    SELECT 'e' || i, 'o' || i, 'Broken', 'Import' FROM generate_series(1, ${N}, 10) i`;
  await sql`ANALYZE`;
  const app = createApp(services);

  const time = async (run: () => Promise<unknown>) => {
    await run(); // warm
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await run();
      runs.push(performance.now() - started);
    }
    return Math.min(...runs);
  };
  const floor = await time(() => sql`SELECT * FROM harvest_source`);
  console.log(`Web source list benchmark: N = ${N} sources, ${N * 50} datasets; target < ${TARGET_MS} ms a page`);
  console.log(`  floor (one statement reading every source): ${floor.toFixed(0)} ms`);
  for (
    const path of ["/harvest", "/harvest?sort=datasets", "/harvest?status=errors&sort=last_run", "/harvest?q=source+99"]
  ) {
    let count = "";
    const ms = await time(async () => {
      const res = await app.request(path);
      const html = await res.text();
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
      count = html.match(/<p>(\d+) sources?<\/p>/)?.[1] ?? "?";
    });
    console.log(
      `  GET ${path.padEnd(40)} ${ms.toFixed(0).padStart(5)} ms (${count} sources)  ${
        ms < TARGET_MS ? "meets" : "MISSES"
      }`,
    );
  }
} finally {
  await services.close();
  await db.drop();
}
