/**
 * The API benchmark: a catalog of N datasets (default 200,000) harvested by the real CLI from a
 * CKAN-shaped server on loopback into a real PostgreSQL, then the API server (`main.ts` with the
 * `serve` task's flags) driven by Debian's wrk at 100 concurrent connections, endpoint by endpoint.
 * Prints p50, p99 and requests/s beside the floor measured in the same run, `status_show` (an action
 * that reads nothing), and the target: p99 under 50 ms.
 *
 *   deno task bench:api [--n 200000] [--connections 100] [--seconds 10] [--keep] [--database URL]
 *
 * `--keep` leaves the filled database in place and prints its URL; `--database URL` drives such a
 * database again without harvesting it anew (for profiling one change after another).
 */
import { parseArgs } from "node:util";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { serve } from "../tests/helpers.ts";
import { freshPostgres, runCli } from "./measure.ts";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "200000" },
    connections: { type: "string", default: "100" },
    seconds: { type: "string", default: "10" },
    keep: { type: "boolean", default: false },
    database: { type: "string" },
  },
});
const N = Number(args.n);
const TARGET_P99_MS = 50;

/** wrk's figures for one URL: p50 and p99 in ms, requests/s, and the share of non-2xx answers. */
async function drive(
  url: string,
  token: string,
): Promise<{ p50: number; p99: number; rps: number; errors: number; timeouts: number }> {
  const out = await new Deno.Command("wrk", {
    args: [
      "-t2",
      `-c${args.connections}`,
      `-d${args.seconds}s`,
      "--timeout",
      "30s",
      "--latency",
      "-H",
      `Authorization: ${token}`,
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const ms = (label: string) => {
    const m = text.match(new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, "m"));
    if (!m) return Number.NaN;
    const v = Number(m[1]);
    return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
  };
  const requests = Number(text.match(/(\d+) requests in/)?.[1] ?? 0);
  const bad = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  return {
    p50: ms("50"),
    p99: ms("99"),
    rps: Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? 0),
    errors: requests ? bad / requests : 0,
    timeouts: Number(text.match(/timeout (\d+)/)?.[1] ?? 0),
  };
}

/** The median time of `n` requests one after another: what one request costs the server alone. */
async function alone(url: string, token: string, n = 21): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await (await fetch(url, { headers: { Authorization: token } })).arrayBuffer();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

/** Waits until the server answers a cheap request quickly again: the last endpoint's backlog is done. */
async function settle(url: string, token: string) {
  for (let i = 0; i < 600; i++) {
    const t = performance.now();
    await (await fetch(url, { headers: { Authorization: token } })).body?.cancel();
    if (performance.now() - t < 50) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Harvests the N datasets into the database and prints how long it took. */
async function fill() {
  await runCli(["source", "create", "bench", remote.url, "ckan", "", "", "", "MANUAL", '{"rows": 1000}'], env);
  for (let i = 0; i < 20; i++) {
    await runCli([
      "source",
      "create",
      `other-${i}`,
      `${remote.url}/o${i}`,
      "ckan",
      "",
      "",
      "",
      "MANUAL",
      "",
      "--no-check-url",
    ], env);
  }
  const run = await runCli(["run-test", "bench", "--concurrency", "8"], env);
  console.log(`Catalog: ${N.toLocaleString("en")} datasets harvested in ${run.seconds.toFixed(0)} s`);
}

const catalog = sampleCatalog({ count: N, seed: 7 });
await using remote = serveCkanCatalog(catalog, { rowsMax: 1000 });
const db = args.database ? { url: args.database, drop: async () => {} } : await freshPostgres("harvest_bench_api");
const env = { DATABASE_URL: db.url, HARVEST_LOG_LEVEL: "error", CKAN__HARVEST__ALLOWED_HOSTS: "127.0.0.1" };
try {
  await runCli(["db", "upgrade"], env);
  if (!args.database) await fill();
  // A sysadmin's token: the job list is for editors, and every call then sees what an operator sees.
  const admin = `bench-admin-${Date.now()}`;
  await runCli(["user", "add", admin, "--sysadmin"], env);
  const created = (await runCli(["--json", "user", "token", "add", admin, "wrk"], env)).output;
  const token = String(JSON.parse(created.slice(created.indexOf("{"), created.lastIndexOf("}") + 1)).token);
  const { url, proc } = await serve({ ...env, PORT: "0", HOST: "127.0.0.1" });
  // The same server with the answer cache off: what each request costs when it is computed.
  const uncached = await serve({ ...env, PORT: "0", HOST: "127.0.0.1", CKAN__HARVEST__API__CACHE_ENTRIES: "0" });
  try {
    const name = String((catalog.datasets[Math.floor(N / 2)] as { name: string }).name);
    const api = `${url}/api/3/action`;
    const endpoints: [string, string][] = [
      ["status_show (floor)", `${api}/status_show`],
      ["harvest_source_show", `${api}/harvest_source_show?id=bench`],
      ["harvest_source_list", `${api}/harvest_source_list`],
      ["harvest_job_list", `${api}/harvest_job_list?source_id=bench`],
      ["package_show", `${api}/package_show?id=${name}`],
      ["package_search q", `${api}/package_search?q=health`],
      ["package_search fq", `${api}/package_search?fq=tags:health`],
      [
        "package_search facets",
        `${api}/package_search?q=water&facet.field=${encodeURIComponent('["organization","tags"]')}`,
      ],
      ["package_search rows=0", `${api}/package_search?rows=0`],
    ];
    console.log(
      `wrk, ${args.connections} connections, ${args.seconds} s per endpoint; target p99 < ${TARGET_P99_MS} ms`,
    );
    console.log(
      `${"endpoint".padEnd(24)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"req/s".padStart(8)}  target  ` +
        "computed alone (cache off)",
    );
    let floorP99 = 0;
    for (const [label, target] of endpoints) {
      await settle(`${api}/status_show`, token);
      // One request first: wrk then measures the steady state, and the first computation is the last column.
      await alone(target, token, 1);
      const r = await drive(target, token);
      const computed = await alone(target.replace(url, uncached.url), token);
      if (label.includes("floor")) floorP99 = r.p99;
      const answered = Number.isFinite(r.p99) && r.rps > 0;
      const met = label.includes("floor") ? "" : answered && r.p99 < TARGET_P99_MS ? "met" : "MISSED";
      console.log(
        `${label.padEnd(24)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${
          r.rps.toFixed(0).padStart(8)
        }  ${met}${r.errors ? `  (${(r.errors * 100).toFixed(1)} % errors)` : ""}${
          r.timeouts ? `  (${r.timeouts} requests over 30 s)` : ""
        }${" ".repeat(met ? 8 - met.length : 8)}${computed.toFixed(1).padStart(6)} ms`,
      );
    }
    console.log(`(the floor's p99, ${floorP99.toFixed(1)} ms, is what the framework and the machine cost)`);
  } finally {
    await proc.stop("SIGTERM");
    await uncached.proc.stop("SIGTERM");
  }
} finally {
  if (args.keep) console.log(`Database kept: --database ${db.url}`);
  else await db.drop();
}
