/**
 * The streamed data.json benchmark: a DCAT-US catalog of at least `--mb` megabytes (default 200),
 * generated as it is served on loopback (so the server holds none of it), harvested by the real CLI
 * (`run-test`, in a subprocess whose peak RSS is read from /proc) into a real PostgreSQL. Prints the
 * catalog size, records/s, peak RSS and the target (under 300 MB); a second run shows the no-change
 * rate.
 *
 *   deno task bench:dcat            (or: deno run -A bench/dcat_json_bench.ts --mb 200; allow-all: the harness, whose CLI runs use the task's flags)
 */
import { parseArgs } from "node:util";
import { dataJsonRecord, dataJsonStream } from "../src/demo/dcat_catalog.ts";
import { freshPostgres, runCli } from "./measure.ts";

const { values: args } = parseArgs({ options: { mb: { type: "string", default: "200" } } });
const TARGET_RSS_MB = 300;
const PADDING = 1500; // bytes of description per record: about 2 KB a record, as real data.json files have
const recordBytes = JSON.stringify(dataJsonRecord(0, PADDING)).length + 1;
const count = Math.ceil(Number(args.mb) * 1024 * 1024 / recordBytes);

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () =>
    new Response(dataJsonStream(count, (i) => dataJsonRecord(i, PADDING)), {
      headers: { "Content-Type": "application/json" },
    }),
);
const url = `http://127.0.0.1:${server.addr.port}/data.json`;

const db = await freshPostgres("harvest_bench_dcat");
const env = { DATABASE_URL: db.url, HARVEST_LOG_LEVEL: "error", CKAN__HARVEST__ALLOWED_HOSTS: "127.0.0.1" };
const cli = (cliArgs: string[]) => runCli(cliArgs, env);

try {
  await cli(["db", "upgrade"]);
  await cli(["source", "create", "bench-datajson", url, "dcat_json", "", "", "", "MANUAL", '{"max_catalog_mb": 4096}']);
  const mb = (count * recordBytes / 1024 / 1024).toFixed(0);
  console.log(`data.json: ${count.toLocaleString("en")} records, ${mb} MB, streamed from ${url}`);
  for (const label of ["cold", "no-change"]) {
    const run = await cli(["run-test", "bench-datajson", "--concurrency", "4"]);
    const line = run.output.split("\n").find((l) => l.includes("finished in")) ?? run.output;
    console.log(
      `${label.padEnd(9)} ${(count / run.seconds).toFixed(0).padStart(6)} records/s  peak RSS ${
        run.peakRssMb.toFixed(0)
      } MB (target < ${TARGET_RSS_MB} MB: ${run.peakRssMb < TARGET_RSS_MB ? "met" : "MISSED"})  ${line}`,
    );
  }
} finally {
  await server.shutdown();
  await db.drop();
}
