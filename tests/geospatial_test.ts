/**
 * The geospatial harvesters against real servers, through the CLI with the harvester task's flags:
 * a Web Accessible Folder served by nginx's autoindex (dated listings) and by Python's http.server
 * (undated, answering conditional GETs), a single ISO document, and `ext_bbox` search over what they
 * brought. The records are real-world ISO 19139 and ISO 19115-3 documents from the test suites of
 * ckanext-spatial (ckanext/spatial/tests/xml/) and pycsw (tests/functionaltests/suites/apiso and
 * iso19115p3: Greek National Mapping Agency, PacIOOS, AuScope and Wallonia records); see
 * tests/fixtures/iso/README.md.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { nginxFolder, pythonFolder } from "./web_folders.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";

type Dict = Record<string, unknown>;
const FIXTURES = new URL("./fixtures/iso/", import.meta.url).pathname;
const GOOD = [...Deno.readDirSync(FIXTURES)].map((e) => e.name)
  .filter((n) => n.endsWith(".xml") && !n.includes("error_bad_xml") && n !== "spatial-iso19139-dataset.xml").sort();

/** A folder with the good records (some in a sub-folder) and three bad ones. */
function makeWaf(): string {
  const root = Deno.makeTempDirSync({ prefix: "waf-" });
  Deno.mkdirSync(`${root}/sub/deeper`, { recursive: true });
  GOOD.forEach((name, i) => {
    const dir = i % 3 === 0 ? root : i % 3 === 1 ? `${root}/sub` : `${root}/sub/deeper`;
    Deno.copyFileSync(`${FIXTURES}${name}`, `${dir}/${name}`);
  });
  Deno.copyFileSync(`${FIXTURES}spatial-gemini2.1-error_bad_xml.xml`, `${root}/bad.xml`);
  Deno.writeTextFileSync(
    `${root}/sub/no-title.xml`,
    Deno.readTextFileSync(`${FIXTURES}pycsw-3e9a8c05.xml`).replace("test Title", "").replace(
      "<gco:CharacterString>3e9a8c05</gco:CharacterString>",
      "<gco:CharacterString>no-title-record</gco:CharacterString>",
    ),
  );
  Deno.writeTextFileSync(`${root}/not-iso.xml`, '<?xml version="1.0"?><catalog><item/></catalog>');
  // Dated a while ago, so a change below shows on a listing that dates to the minute.
  const old = new Date(Date.now() - 3_600_000);
  for (const dir of [root, `${root}/sub`, `${root}/sub/deeper`]) {
    for (const e of Deno.readDirSync(dir)) if (e.isFile) Deno.utimeSync(`${dir}/${e.name}`, old, old);
  }
  return root;
}

const extras = (d: Dict) =>
  Object.fromEntries((d.extras as { key: string; value: string }[]).map((e) => [e.key, e.value]));

Deno.test("a WAF on nginx: every record arrives with its title, identifier, tags, extent and resources; bad records fail alone; a second run fetches nothing; a change, a removal; ext_bbox finds exactly the intersecting extents", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const root = makeWaf();
  await using waf = await nginxFolder(root);
  const created = await cli(["source", "create", "geo-waf", waf.url, "waf"], env);
  assertEquals(created.code, 0, created.stderr);

  // A preview works for this harvester too, through the framework: what would be added, and what would fail.
  const plan = JSON.parse((await cli(["--json", "plan", "geo-waf"], env)).stdout);
  assertEquals([plan.counts.add, plan.counts.error], [GOOD.length, 3]);
  assert(
    plan.items.some((i: Dict) => i.action === "add" && i.title === "Country Parks (Scotland)"),
    "titles of ISO records",
  );

  const first = JSON.parse((await cli(["--json", "run-test", "geo-waf"], env)).stdout);
  assertEquals(first.stats.added, GOOD.length, JSON.stringify(first));
  assertEquals(first.stats.errored, 3);
  await using services = await servicesOn(db.url);
  const act = (n: string, i: Dict) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
  const report = await act("harvest_job_report", { id: first.jobId }) as {
    object_errors: Record<string, { guid: string; errors: { message: string }[] }>;
  };
  const errors = Object.fromEntries(
    Object.values(report.object_errors).map((o) => [o.guid.replace(waf.url, ""), o.errors.map((e) => e.message)]),
  );
  assertMatch(errors["bad.xml"]!.join(), /Not well-formed XML: \d+:\d+: unclosed tag: gmd:MD_Metadata/);
  assertMatch(
    errors["sub/no-title.xml"]!.join(),
    /no-title-record has no title: gmd:identificationInfo\/\*\/gmd:citation\/gmd:CI_Citation\/gmd:title is missing/,
  );
  assertMatch(errors["not-iso.xml"]!.join(), /not an ISO 19139 or ISO 19115-3 record: its root element is <catalog>/);

  // Each record, as ckanext-spatial maps it.
  const search = async (
    input: Dict,
  ) => (await act("package_search", { rows: 1000, ...input }) as { count: number; results: Dict[] });
  const all = (await search({})).results;
  assertEquals(all.length, GOOD.length);
  const byGuid = new Map(all.map((d) => [extras(d).guid, d]));
  const scotland = byGuid.get("test-dataset-1")!;
  assertEquals(scotland.title, "Country Parks (Scotland)");
  assertMatch(String(scotland.notes), /Parks are set up by Local Authorities/);
  const se = extras(scotland);
  assertEquals(se["spatial-reference-system"], "urn:ogc:def:crs:EPSG::27700");
  assertEquals(se["metadata-date"], "2011-09-23T10:06:08");
  assertEquals(JSON.parse(se.spatial!).type, "Polygon");
  assertEquals(se["metadata-standard"], "iso19139");
  assert((scotland.tags as Dict[]).length >= 1);
  assertEquals((scotland.resources as Dict[])[0]!.format, "ESRI Shapefile");
  const wales = byGuid.get("11edc4ec-5269-40b9-86c8-17201fa4e74e-new")!;
  assertEquals(
    (wales.resources as Dict[]).map((r) => r.format),
    ["OGC Web Map Service", "WMS", "WMS"].map((f) => f === "OGC Web Map Service" ? f : f),
  );
  const wallonia = byGuid.get("74f81503-8d39-4ec8-a49a-c76e0cd74946")!;
  assertEquals(extras(wallonia)["metadata-standard"], "iso19115-3");
  assertEquals(wallonia.title, "Protection des captages - Série");
  // Keywords become tags munged as CKAN does: lower case, no punctuation, spaces as dashes.
  for (const d of all) for (const t of d.tags as Dict[]) assertMatch(String(t.name), /^[a-z0-9-]+$/);
  const pacific = byGuid.get("NS06agg")!;
  assertEquals(JSON.parse(extras(pacific).spatial!).type, "Point");

  // ext_bbox: exactly the datasets whose extent intersects the box, checked against each record's own bbox.
  const intersects = (d: Dict, [minx, miny, maxx, maxy]: number[]) => {
    const e = extras(d);
    if (e["bbox-west-long"] === undefined) return false;
    const [w, east, s, n] = ["bbox-west-long", "bbox-east-long", "bbox-south-lat", "bbox-north-lat"].map((k) =>
      Number(e[k])
    );
    return w! <= maxx! && east! >= minx! && s! <= maxy! && n! >= miny!;
  };
  for (const box of [[19, 34, 30, 42], [-9, 49, 2, 61], [150, 0, 170, 10], [2, 49, 7, 51], [-60, -60, -50, -50]]) {
    const found = (await search({ ext_bbox: box.join(",") })).results.map((d) => d.id).sort();
    const expected = all.filter((d) => intersects(d, box)).map((d) => d.id).sort();
    assertEquals(found, expected, `ext_bbox=${box}`);
  }
  assert((await search({ ext_bbox: "19,34,30,42" })).count >= 4, "the Greek records");
  const bad = await act("package_search", { ext_bbox: "10,50,5" }).catch((e) => e) as Error;
  assertMatch(bad.message, /ext_bbox: Must be four numbers/);

  // Second run: the listing's dates say nothing changed; no record file is fetched again.
  const before = (await waf.requests()).length;
  const second = JSON.parse((await cli(["--json", "run-test", "geo-waf"], env)).stdout);
  assertEquals(second.stats["not modified"], GOOD.length, JSON.stringify(second.stats));
  assertEquals(second.stats.added + second.stats.updated, 0);
  const fetched = (await waf.requests()).slice(before).filter((r) =>
    /^GET \S+\.xml /.test(r) && !/(bad|not-iso|no-title)\.xml/.test(r)
  );
  assertEquals(fetched, [], "records are not fetched again");

  // A newer record (dateStamp and title) is updated; a removed file is withdrawn through the guard.
  const walesFile = GOOD.indexOf("spatial-gemini2.1-waf-wales1.xml");
  const walesPath = `${root}/${
    walesFile % 3 === 0 ? "" : walesFile % 3 === 1 ? "sub/" : "sub/deeper/"
  }spatial-gemini2.1-waf-wales1.xml`;
  Deno.writeTextFileSync(
    walesPath,
    Deno.readTextFileSync(walesPath).replace("2011-10-28T17:27:04", "2026-12-01T09:00:00")
      .replace("World Heritage Sites in Wales", "World Heritage Sites of Wales"),
  );
  const removed = GOOD.indexOf("pycsw-T_ortho_RAS_1998_284404.xml");
  Deno.removeSync(
    `${root}/${removed % 3 === 0 ? "" : removed % 3 === 1 ? "sub/" : "sub/deeper/"}pycsw-T_ortho_RAS_1998_284404.xml`,
  );
  const third = JSON.parse((await cli(["--json", "run-test", "geo-waf"], env)).stdout);
  assertEquals([third.stats.updated, third.stats.deleted, third.stats.added], [1, 1, 0], JSON.stringify(third.stats));
  const renamed = (await search({ q: "Heritage" })).results[0]!;
  assertMatch(String(renamed.title), /World Heritage Sites of Wales/);
  assertEquals(extras(renamed)["metadata-date"], "2026-12-01T09:00:00");
  assertEquals((await search({})).count, GOOD.length - 1);
  Deno.removeSync(root, { recursive: true });
});

Deno.test("a WAF without dates (Python's http.server) is read with conditional GETs; a single ISO document too", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const root = Deno.makeTempDirSync({ prefix: "waf-py-" });
  for (const name of GOOD.slice(0, 4)) Deno.copyFileSync(`${FIXTURES}${name}`, `${root}/${name}`);
  Deno.copyFileSync(`${FIXTURES}spatial-iso19139-dataset.xml`, `${root}/single.xml`);
  await using folder = await pythonFolder(root);
  assertEquals((await cli(["source", "create", "py-waf", `${folder.url}`, "waf"], env)).code, 0);
  const first = JSON.parse((await cli(["--json", "run-test", "py-waf"], env)).stdout);
  assertEquals(first.stats.added, 5, JSON.stringify(first));
  const mark = (await folder.requests()).length;
  const second = JSON.parse((await cli(["--json", "run-test", "py-waf"], env)).stdout);
  assertEquals(second.stats["not modified"], 5);
  const again = (await folder.requests()).slice(mark).filter((r) => r.includes(".xml"));
  assertEquals(again.length, 5);
  assert(again.every((r) => r.endsWith(" 304")), `every file answered 304: ${again}`);
  await using services = await servicesOn(db.url);
  const act = (n: string, i: Dict) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
  const job = await act("harvest_job_show", { id: second.jobId }) as { documents_not_modified: number };
  assertEquals(job.documents_not_modified, 5);

  // One document: harvested, then 304.
  assertEquals((await cli(["source", "create", "one-doc", `${folder.url}single.xml`, "single_doc"], env)).code, 0);
  const doc = JSON.parse((await cli(["--json", "run-test", "one-doc"], env)).stdout);
  assertEquals(doc.stats.added, 1, JSON.stringify(doc));
  const docAgain = JSON.parse((await cli(["--json", "run-test", "one-doc"], env)).stdout);
  assertEquals(docAgain.stats["not modified"], 1);
  const shown = await act("package_search", { q: "Country Parks" }) as { results: Dict[] };
  assertEquals(extras(shown.results.find((d) => extras(d).guid === "test-dataset-1")!)["spatial_harvester"], "true");
  Deno.removeSync(root, { recursive: true });
});

Deno.test("a geospatial source's config is checked: unknown options, profiles and validators are named", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const create = (type: string, config: string) =>
    cli([
      "source",
      "create",
      `s-${crypto.randomUUID().slice(0, 8)}`,
      "http://127.0.0.1:9/",
      type,
      "",
      "true",
      "",
      "MANUAL",
      config,
      "--no-check-url",
    ], env);
  const cases: [string, string, RegExp][] = [
    ["waf", '{"max_depth": "deep"}', /max_depth must be a number/],
    ["waf", '{"profile": "nope"}', /profile must be one of iso19139, not nope/],
    ["csw", '{"validator_profiles": ["xsd"]}', /validator_profiles: xsd is not one of iso19139_required/],
    ["csw", '{"filter": "<ogc:Filter"}', /filter must be a well-formed <ogc:Filter>/],
    ["csw", '{"cql": "a", "filter": "<Filter/>"}', /either cql or filter, not both/],
    ["single_doc", '{"page_size": 3}', /unknown option\(s\): page_size/],
  ];
  for (const [type, config, expected] of cases) {
    const r = await create(type, config);
    assertEquals(r.code, 1, `${type} ${config}`);
    assertMatch(r.stderr, expected);
  }
});

Deno.test("the optional validation step: a record missing required ISO elements fails, or is kept with warnings under continue_on_validation_errors", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  // A real record without its abstract and its metadata contact.
  const record = Deno.readTextFileSync(`${FIXTURES}spatial-iso19139-dataset.xml`)
    .replace(/<gmd:abstract>[\s\S]*?<\/gmd:abstract>/, "")
    .replace(/<gmd:contact>[\s\S]*?<\/gmd:contact>/, "");
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(record, { headers: { "Content-Type": "application/xml" } }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/record.xml`;
    const create = (name: string, config: string) =>
      cli(["source", "create", name, `${url}?${name}`, "single_doc", "", "true", "", "MANUAL", config], env);
    assertEquals((await create("strict", '{"validator_profiles": ["iso19139_required"]}')).code, 0);
    assertEquals(
      (await create("lenient", '{"validator_profiles": ["iso19139_required"], "continue_on_validation_errors": true}'))
        .code,
      0,
    );
    await using services = await servicesOn(db.url);
    const act = (n: string, i: Dict) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
    const messages = async (jobId: string) => {
      const r = await act("harvest_job_report", { id: jobId }) as {
        object_errors: Record<string, { errors: { message: string; type: string }[] }>;
      };
      return Object.values(r.object_errors).flatMap((o) => o.errors.map((e) => `${e.type}: ${e.message}`));
    };
    const strict = JSON.parse((await cli(["--json", "run-test", "strict"], env)).stdout);
    assertEquals([strict.stats.added, strict.stats.errored], [0, 1]);
    const strictErrors = await messages(strict.jobId);
    assert(
      strictErrors.includes(
        "Validation: iso19139_required: gmd:contact is required by ISO 19139 and is missing or empty",
      ),
      String(strictErrors),
    );
    assert(strictErrors.some((m) => m.includes("gmd:identificationInfo/*/gmd:abstract is required")));
    const lenient = JSON.parse((await cli(["--json", "run-test", "lenient"], env)).stdout);
    assertEquals([lenient.stats.added, lenient.stats.errored], [1, 0]);
    assert((await messages(lenient.jobId)).every((m) => m.startsWith("Validation warning: ")));
  } finally {
    await server.shutdown();
  }
});
