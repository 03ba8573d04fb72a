/**
 * The CSW benchmark: a 20,000-record catalogue (copies of a real ISO 19139 record from pycsw's test
 * suite, each with its own identifier and title) served on loopback by the tests' CSW endpoint,
 * harvested by the real CLI (`run-test`, with the harvester task's flags) into a real PostgreSQL.
 * Printed beside the floor measured in the same run: every GetRecords page fetched with plain
 * fetch() and every record's XML stored with one multi-row INSERT per page, nothing parsed or mapped.
 * A second run shows the no-change rate (incremental: only identifiers are listed).
 *
 *   deno task bench:csw            (or: deno run -A bench/csw_bench.ts --records 20000; allow-all: the harness, whose CLI runs use the task's flags)
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { copiesOf, serveCsw } from "../tests/csw_server.ts";
import { freshPostgres, runCli } from "./measure.ts";

const { values: args } = parseArgs({ options: { records: { type: "string", default: "20000" } } });
const count = Number(args.records);
const template = Deno.readTextFileSync(new URL("../tests/fixtures/iso/pycsw-3e9a8c05.xml", import.meta.url));
const records = copiesOf(template, "3e9a8c05", count, "bench");
await using csw = serveCsw(records);
const PAGE = 100;

const db = await freshPostgres("harvest_bench_csw");
const env = { DATABASE_URL: db.url, HARVEST_LOG_LEVEL: "error", CKAN__HARVEST__ALLOWED_HOSTS: "127.0.0.1" };
try {
  // The floor: the pages fetched, and the documents stored, with nothing in between.
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  await sql`CREATE TABLE floor_doc (id text PRIMARY KEY, content text NOT NULL)`;
  const floorStarted = performance.now();
  for (let start = 1; start <= count; start += PAGE) {
    const url = `${csw.url}?service=CSW&version=2.0.2&request=GetRecords&typeNames=gmd:MD_Metadata&resultType=results` +
      `&elementSetName=full&outputSchema=${encodeURIComponent("http://www.isotc211.org/2005/gmd")}` +
      `&startPosition=${start}&maxRecords=${PAGE}`;
    const text = await (await fetch(url)).text();
    const docs = text.split(/(?=<gmd:MD_Metadata)/).slice(1).map((xml, i) => ({ id: `${start + i}`, content: xml }));
    await sql`INSERT INTO floor_doc ${sql(docs)}`;
  }
  const floor = count / ((performance.now() - floorStarted) / 1000);
  await sql.end();

  await runCli(["db", "upgrade"], env);
  await runCli(["source", "create", "bench-csw", csw.url, "csw", "", "", "", "MANUAL", `{"page_size": ${PAGE}}`], env);
  console.log(`CSW: ${count.toLocaleString("en")} records, pages of ${PAGE}, from ${csw.url}`);
  console.log(
    `floor     ${floor.toFixed(0).padStart(6)} records/s  (pages fetched + documents stored, nothing parsed)`,
  );
  for (const label of ["cold", "no-change"]) {
    const run = await runCli(["run-test", "bench-csw", "--concurrency", "4"], env);
    const line = run.output.split("\n").find((l) => l.includes("finished in")) ?? run.output;
    const rate = count / run.seconds;
    console.log(
      `${label.padEnd(9)} ${rate.toFixed(0).padStart(6)} records/s  ${(rate / floor).toFixed(2)} of the floor  ` +
        `peak RSS ${run.peakRssMb.toFixed(0)} MB  ${line}`,
    );
  }
} finally {
  await db.drop();
}
