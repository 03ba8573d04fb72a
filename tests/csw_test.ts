/**
 * The csw harvester through the CLI with the harvester task's flags, against a CSW endpoint on
 * loopback serving real ISO records (tests/csw_server.ts says why it is ours, and the README how the
 * harvester was run against pycsw): paging, incremental runs, changes, withdrawals, records that fail
 * alone, and servers that lie, repeat pages or answer exceptions.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { copiesOf, type CswRecord, serveCsw } from "./csw_server.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";

type Dict = Record<string, unknown>;
const FIXTURES = new URL("./fixtures/iso/", import.meta.url).pathname;

/** The real records (distinct identifiers), and copies of one to make several pages. */
function catalog(copies: number): CswRecord[] {
  const real: CswRecord[] = [];
  const seen = new Set<string>();
  for (const e of [...Deno.readDirSync(FIXTURES)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.name.endsWith(".xml") || e.name.includes("error_bad") || e.name.includes("19115")) continue;
    const xml = Deno.readTextFileSync(`${FIXTURES}${e.name}`);
    const id = xml.match(/<gmd:fileIdentifier>\s*<gco:CharacterString>([^<]+)</)?.[1];
    if (!id || seen.has(id)) continue;
    seen.add(id);
    real.push({ id, xml, modified: xml.match(/<gmd:dateStamp>\s*<gco:(?:DateTime|Date)>([^<]+)</)?.[1] ?? "" });
  }
  const template = Deno.readTextFileSync(`${FIXTURES}pycsw-3e9a8c05.xml`);
  return [...real, ...copiesOf(template, "3e9a8c05", copies)];
}

async function setup(
  records: CswRecord[],
  options: Parameters<typeof serveCsw>[1] = {},
  config = '{"page_size": 100}',
) {
  const db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const csw = serveCsw(records, options);
  const created = await cli(["source", "create", "cat", csw.url, "csw", "", "true", "", "MANUAL", config], env);
  assertEquals(created.code, 0, created.stderr);
  const run = async () => {
    const r = await cli(["--json", "run-test", "cat"], env);
    return JSON.parse(r.stdout || "{}") as { jobId: string; stats: Record<string, number>; gatherErrors: string[] };
  };
  return {
    csw,
    env,
    run,
    async [Symbol.asyncDispose]() {
      await csw[Symbol.asyncDispose]();
      await db[Symbol.asyncDispose]();
    },
    url: db.url,
  };
}

Deno.test("csw: every record arrives page by page; a second run reads no record in full; a newer record is updated; a removed one withdrawn; an invalid one fails alone", async () => {
  const records = catalog(240);
  // An invalid record: its title is gone.
  const invalid = records.find((r) => r.id === "copy-00007")!;
  invalid.xml = invalid.xml.replace(/(<gmd:title>\s*<gco:CharacterString>)[^<]*/, "$1");
  await using t = await setup(records);
  const first = await t.run();
  assertEquals(first.stats.added, records.length - 1, JSON.stringify(first));
  assertEquals(first.stats.errored, 1);
  const pages = t.csw.requests.filter((p) => p.get("request") === "GetRecords");
  assertEquals(pages.map((p) => p.get("startposition")), ["1", "101", "201"], "three pages of 100, by nextRecord");
  assert(pages.every((p) => p.get("outputschema") === "http://www.isotc211.org/2005/gmd"));
  assertEquals(
    t.csw.requests.filter((p) => p.get("request") === "GetRecordById").length,
    0,
    "pages carry full records",
  );

  await using services = await servicesOn(t.url);
  const act = (n: string, i: Dict) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
  const report = await act("harvest_job_report", { id: first.jobId }) as {
    object_errors: Record<string, { guid: string; errors: { message: string }[] }>;
  };
  const failed = Object.values(report.object_errors).find((o) => o.guid === "copy-00007");
  assertMatch(failed!.errors[0]!.message, /copy-00007 has no title: gmd:identificationInfo/);
  const greek = (await act("package_search", { ext_bbox: "19,34,30,42", rows: 100 }) as { results: Dict[] }).results;
  assert(greek.length >= 4, "extents arrive");

  // The record is fixed: a run with an error is no baseline, so this one reads everything again.
  invalid.xml = invalid.xml.replace(/(<gmd:title>\s*<gco:CharacterString>)/, "$1Fixed title");
  const fixed = await t.run();
  assertEquals([fixed.stats.added, fixed.stats["not modified"]], [1, records.length - 1], JSON.stringify(fixed));

  // Incremental: only records modified since the last run are asked for in full; the brief listing
  // of identifiers keeps the listing complete.
  const mark = t.csw.requests.length;
  const second = await t.run();
  assertEquals(second.stats["not modified"], records.length, JSON.stringify(second.stats));
  const asked = t.csw.requests.slice(mark).filter((p) => p.get("request") === "GetRecords");
  // The capabilities were asked conditionally and answered 304: what the last read found is reused.
  const secondJob = await act("harvest_job_show", { id: second.jobId }) as { documents_not_modified: number };
  assertEquals(secondJob.documents_not_modified, 1);
  assertMatch(asked[0]!.get("constraint")!, /apiso:Modified >= '\d{4}-\d\d-\d\dT/);
  assert(asked.slice(1).every((p) => p.get("elementsetname") === "brief"), "then identifiers only");

  // A record with a newer dateStamp is updated; a record the server no longer has is withdrawn.
  const greekRecord = records.find((r) => r.xml.includes("Aerial Photos"))!;
  greekRecord.xml = greekRecord.xml.replace("Aerial Photos", "Aerial Photographs").replace(
    /(<gmd:dateStamp>\s*<gco:(?:DateTime|Date)>)[^<]+/,
    "$12026-12-02",
  );
  greekRecord.modified = new Date(Date.now() + 60_000).toISOString();
  const removed = records.splice(records.findIndex((r) => r.id === "copy-00100"), 1)[0]!;
  const third = await t.run();
  assertEquals([third.stats.updated, third.stats.deleted, third.stats.added], [1, 1, 0], JSON.stringify(third.stats));
  const renamed = (await act("package_search", { q: "Photographs" }) as { results: Dict[] }).results;
  assertEquals(renamed.length, 1);
  const gone = (await act("package_search", { q: `"${removed.id}"`, rows: 5 }) as { count: number }).count;
  assertEquals(gone, 0);
});

Deno.test("csw: records read by GetRecordById each, one broken record failing alone; CSW 3.0.0 when offered; a constraint is sent", async () => {
  const records = catalog(20);
  await using t = await setup(
    records,
    { v3: true, brokenIds: ["copy-00003"] },
    '{"records_from": "getrecordbyid", "cql": "AnyText LIKE \'%test%\'"}',
  );
  const first = await t.run();
  assertEquals(first.stats.added, records.length - 1, JSON.stringify(first));
  assertEquals(first.stats.errored, 1);
  const byId = t.csw.requests.filter((p) => p.get("request") === "GetRecordById");
  assertEquals(byId.length, records.length);
  const listing = t.csw.requests.filter((p) => p.get("request") === "GetRecords");
  assert(listing.every((p) => p.get("version") === "3.0.0"), "CSW 3.0.0, which the capabilities offer");
  assertEquals(listing[0]!.get("constraint"), "(AnyText LIKE '%test%')");
  assertEquals(listing[0]!.get("constraintlanguage"), "CQL_TEXT");
  await using services = await servicesOn(t.url);
  const act = (n: string, i: Dict) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
  const report = await act("harvest_job_report", { id: first.jobId }) as {
    object_errors: Record<string, { guid: string; errors: { message: string }[] }>;
  };
  const failed = Object.values(report.object_errors).find((o) => o.guid === "copy-00003")!;
  assertMatch(failed.errors[0]!.message, /Unable to get record copy-00003: Not well-formed XML/);
});

Deno.test("csw: a server that lies about numberOfRecordsMatched, repeats its pages, never advances nextRecord or answers an exception is bounded, and nothing is withdrawn on its word", async () => {
  // Claims 10,000 matches for 150 records: all 150 arrive, and the listing is not trusted as whole.
  {
    const records = catalog(140);
    await using t = await setup(records, { claimMatched: 10_000 });
    const first = await t.run();
    assertEquals(first.stats.added, records.length, JSON.stringify(first));
    records.splice(0, 1);
    const second = await t.run();
    assertEquals(second.stats.deleted, 0, "a listing shorter than claimed withdraws nothing");
  }
  // Every page is the first: stopped at the repeat with a gather error; nothing withdrawn.
  {
    await using t = await setup(catalog(240), { repeatPages: true });
    const first = await t.run();
    assertEquals(first.stats.added, 100);
    assertMatch(first.gatherErrors.join(), /repeat/i);
    assert(t.csw.requests.filter((p) => p.get("request") === "GetRecords").length <= 3);
  }
  // nextRecord stuck at 1: the harvester moves on by the records returned, and ends.
  {
    const records = catalog(240);
    await using t = await setup(records, { stuckNextRecord: true });
    const first = await t.run();
    assertEquals(first.stats.added, records.length, JSON.stringify(first));
  }
  // An exception on the second page: a gather error with the server's code and text; no withdrawals.
  {
    const records = catalog(240);
    await using t = await setup(records, {});
    assertEquals((await t.run()).stats.added, records.length);
    await using broken = await setup(records, { exceptionAt: 101 });
    const r = await broken.run();
    assertMatch(
      r.gatherErrors.join(),
      /CSW exception at startPosition 101: NoApplicableCode: Database connection lost/,
    );
    assertEquals(r.stats.deleted, 0);
  }
});
