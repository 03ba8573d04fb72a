/**
 * DCAT and DCAT-US replayed against what the reference implementations produce, harvested through
 * the CLI (the harvester task, with its own permission flags) and read back through package_show.
 *
 * Sources of the cases:
 * - fixtures/dcat_reference/dcat_ap_dataset.ttl: written here from the fields ckanext-dcat's
 *   parse tests check (ckanext/dcat/tests/profiles/dcat_ap_2/test_euro_dcatap_2_profile_parse.py,
 *   test_dataset_all_fields; ckanext/dcat/tests/profiles/dcat_ap/test_euro_dcatap_profile_parse.py);
 *   expected values are theirs, except the deliberate differences the README lists.
 * - fixtures/dcat_reference/numerical-title.data.json: GSA/ckanext-datajson,
 *   ckanext/datajson/tests/datajson-samples/ (test_datajson_numerical_title expects title "707").
 * - fixtures/dcat_reference/dcatus_multiple_invalid.json and dcatus_bad_license_uri.json:
 *   GSA/datagov-harvester example_data/dcatus/ (tests/integration/harvest/test_validate.py expects
 *   3 errors, on contactPoint.hasEmail, distribution[0].accessURL and license; and 1, on license).
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";

type Dict = Record<string, unknown>;
const FIXTURES = new URL("./fixtures/dcat_reference/", import.meta.url);

/** A remote serving the given files (name → content, content type), changeable between runs. */
function remote(files: Record<string, [string, string]>) {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const file = files[new URL(req.url).pathname.slice(1)];
    return file ? new Response(file[0], { headers: { "Content-Type": file[1] } }) : new Response("no", { status: 404 });
  });
  return {
    files,
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const extrasOf = (d: Dict) =>
  Object.fromEntries((d.extras as { key: string; value: string }[]).map((e) => [e.key, e.value]));

async function harvest(env: Record<string, string>, name: string, url: string, type: string, config: Dict) {
  const created = await cli(
    ["source", "create", name, url, type, name, "true", "", "MANUAL", JSON.stringify(config), "--no-check-url"],
    env,
  );
  assertEquals(created.code, 0, created.stderr);
  return await run(env, name);
}

async function run(env: Record<string, string>, name: string) {
  const r = await cli(["--json", "run-test", name], env);
  assert(r.code === 0 || r.code === 1, r.stderr);
  return JSON.parse(r.stdout) as { jobId: string; stats: Record<string, number>; gatherErrors: string[] };
}

Deno.test("dcat_rdf maps a DCAT-AP 2 dataset as ckanext-dcat does, and a distribution keeps its resource id across an update", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const ttl = await Deno.readTextFile(new URL("dcat_ap_dataset.ttl", FIXTURES));
  await using site = remote({ "catalog.ttl": [ttl, "text/turtle"] });
  const first = await harvest(env, "geo", `${site.url}/catalog.ttl`, "dcat_rdf", {});
  assertEquals([first.stats.added, first.gatherErrors.length], [1, 0], JSON.stringify(first));

  await using services = await servicesOn(db.url);
  const show = (id: string) =>
    runAction(getAction("package_show")!, { services, actor: SITE_ACTOR }, { id }) as Promise<Dict>;
  const [hit] =
    (await runAction(getAction("package_search")!, { services, actor: SITE_ACTOR }, { q: "geochemical" }) as {
      results: Dict[];
    }).results;
  const d = await show(hit!.id as string);
  assertEquals(d.title, "Regional geochemical survey");
  assertEquals(d.url, "http://data.example.org/geochem");
  assertEquals(d.version, "2.3");
  // Comma-separated keywords are split (ckanext-dcat's _keywords).
  assertEquals((d.tags as Dict[]).map((t) => t.name).sort(), ["exploration", "geochemistry", "geology"]);
  // The distribution's licence URI is in CKAN's register: its id (ckanext-dcat's _license).
  assertEquals(d.license_id, "cc-by");
  const x = extrasOf(d);
  assertEquals(x.identifier, "geochem-1982");
  assertEquals(x.uri, "https://data.example.org/dataset/geochem");
  assertEquals(x.issued, "2012-05-10");
  // Deliberate: a date that is not ISO 8601 is normalised (ckanext-dcat keeps the literal).
  assertEquals(x.modified, "2012-05-10T21:04:00Z");
  assertEquals(x.alternate_identifier, '["alternate-identifier-1"]');
  assertEquals(x.version_notes, "New schema added");
  assertEquals(JSON.parse(x.language!).sort(), ["en", "es"]);
  assertEquals(x.theme, '["http://eurovoc.europa.eu/100142"]');
  assertEquals(x.conforms_to, '["Standard 1"]');
  assertEquals(x.frequency, "http://purl.org/cld/freq/daily");
  assertEquals(x.access_rights, "public");
  assertEquals(x.documentation, '["http://data.example.org/doc1"]');
  assertEquals(x.provenance, "Some statement about provenance");
  assertEquals(x.dcat_type, "test-type");
  assertEquals(x.related_resource, '["http://data.example.org/related1"]');
  // adms:contactPoint, as DCAT-AP 1 allowed.
  assertEquals([x.contact_name, x.contact_email], ["Point of Contact", "contact@example.org"]);
  assertEquals(
    [x.publisher_uri, x.publisher_name, x.publisher_email, x.publisher_url, x.publisher_type],
    [
      "http://orgs.example.org/survey",
      "Geological Survey",
      "survey@example.org",
      "http://orgs.example.org",
      "http://purl.org/adms/publishertype/NationalAuthority",
    ],
  );
  assertEquals([x.creator_name, x.creator_email], ["Geological Survey Team", "team@example.org"]);
  // DCAT-AP 2 reads dcat:startDate before schema:startDate.
  assertEquals([x.temporal_start, x.temporal_end], ["1905-03-01T03:00:00+02:00", "2013-01-05"]);
  assertEquals(x.spatial_uri, "http://publications.europa.eu/resource/authority/country/ZWE");
  assertEquals(x.spatial_text, "Zimbabwe");
  // WKT geometries become GeoJSON (ckanext-dcat's _parse_geodata).
  assertEquals(JSON.parse(x.spatial!).type, "Polygon");
  assertEquals(JSON.parse(x.spatial_bbox!).coordinates[0][2], [13, 55]);
  assertEquals(x.temporal_resolution, "P1D");
  assertEquals(x.spatial_resolution_in_meters, "30");
  assertEquals(x.is_referenced_by, '["https://doi.org/10.1038/sdata.2018.22"]');
  assertEquals(x.applicable_legislation, '["http://data.europa.eu/eli/reg_impl/2023/138/oj"]');
  assertEquals(x.hvd_category, '["http://data.europa.eu/bna/c_164e0bf5"]');
  assertEquals(x.homepage, "http://data.example.org/home");

  const resources = d.resources as Dict[];
  assertEquals(resources.length, 2);
  const csv = resources.find((r) => r.name === "Samples (CSV)")!;
  assertEquals(csv.url, "http://data.example.org/samples.csv");
  assertEquals([csv.format, csv.mimetype, csv.size], ["CSV", "text/csv", 1234]);
  assertEquals(csv.hash, "be7e3aa1f5c8ff0ab1b4ad8a2d3e9d3a4c1c2b7d");
  assertEquals(csv.hash_algorithm, "sha1");
  assertEquals(csv.uri, "https://data.example.org/dataset/geochem/csv");
  assertEquals(csv.availability, "http://publications.europa.eu/resource/authority/planned-availability/AVAILABLE");
  assertEquals(csv.license, "http://www.opendefinition.org/licenses/cc-by");
  const pdf = resources.find((r) => r.name === "Report (no URI)")!;
  assertEquals([pdf.url, pdf.format, pdf.uri], ["http://data.example.org/report.pdf", "PDF", ""]);

  // An update: the distribution with a URI keeps its resource id (ckanext-dcat gives a new one).
  site.files["catalog.ttl"] = [ttl.replace('dct:title "Samples (CSV)"', 'dct:title "Samples, revised"'), "text/turtle"];
  const second = await run(env, "geo");
  assertEquals(second.stats.updated, 1, JSON.stringify(second));
  const after = (await show(d.id as string)).resources as Dict[];
  const revised = after.find((r) => r.name === "Samples, revised")!;
  assertEquals(revised.id, csv.id, "the same distribution URI, the same resource id");
});

Deno.test("the profile is chosen per source: dcat_ap_1 reads schema.org temporal first, as euro_dcat_ap does", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const ttl = await Deno.readTextFile(new URL("dcat_ap_dataset.ttl", FIXTURES));
  await using site = remote({ "catalog.ttl": [ttl, "text/turtle"] });
  assertEquals(
    (await harvest(env, "v1", `${site.url}/catalog.ttl`, "dcat_rdf", { profile: "dcat_ap_1" })).stats.added,
    1,
  );
  await using services = await servicesOn(db.url);
  const [d] = (await runAction(getAction("package_search")!, { services, actor: SITE_ACTOR }, { q: "geochemical" }) as {
    results: Dict[];
  }).results;
  const x = extrasOf(d!);
  assertEquals(x.temporal_start, "1900-01-01");
  assertEquals(x.temporal_resolution, undefined, "DCAT-AP 2 fields are not read by the DCAT-AP 1 profile");
  const bad = await cli(
    [
      "source",
      "create",
      "bad",
      `${site.url}/catalog.ttl`,
      "dcat_rdf",
      "bad",
      "true",
      "",
      "MANUAL",
      '{"profile": "dcat_ap_9"}',
      "--no-check-url",
    ],
    env,
  );
  assertEquals(bad.code, 1);
  assertMatch(bad.stderr, /config: .*profile must be one of dcat_ap_3, dcat_ap_2, dcat_ap_1, default, not dcat_ap_9/);
});

Deno.test("dcat_json accepts and refuses what ckanext-datajson and GSA's harvester accept and refuse, and maps as ckanext-datajson", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const read = (f: string) => Deno.readTextFile(new URL(f, FIXTURES));
  const hierarchy = JSON.parse(await read("numerical-title.data.json"));
  const record = structuredClone(hierarchy.dataset[0]);
  Object.assign(record, {
    identifier: "with-hierarchy",
    title: "Congressional Logs",
    publisher: {
      "@type": "org:Organization",
      name: "Office of the Chief Information Officer",
      subOrganizationOf: { "@type": "org:Organization", name: "Department of Agriculture" },
    },
    temporal: "2014-01-01/2014-12-31",
    describedBy: "https://example.gov/dictionary.csv",
    customField: { note: "outside the schema" },
  });
  hierarchy.dataset.push(record);
  await using site = remote({
    "numerical.json": [JSON.stringify(hierarchy), "application/json"],
    "invalid.json": [await read("dcatus_multiple_invalid.json"), "application/json"],
    "license.json": [await read("dcatus_bad_license_uri.json"), "application/json"],
  });

  const numeric = await harvest(env, "numeric", `${site.url}/numerical.json`, "dcat_json", {});
  assertEquals(numeric.stats.added, 2, JSON.stringify(numeric));
  await using services = await servicesOn(db.url);
  const act = (name: string, input: Dict) => runAction(getAction(name)!, { services, actor: SITE_ACTOR }, input);
  const search = async (q: string) => ((await act("package_search", { q, rows: 5 })) as { results: Dict[] }).results;
  const [titled] = await search("title:707");
  assertEquals(titled?.title, "707", "a numeric title is a title (test_datajson_numerical_title)");

  const [d] = await search("Congressional");
  const x = extrasOf(d!);
  assertEquals((d!.tags as Dict[]).map((t) => t.name), ["congressional-logs"], "tags munged as names");
  assertEquals([d!.maintainer, d!.maintainer_email], ["Nicole Numbi", "Alexis.Graves@ocio.usda.gov"]);
  assertEquals(d!.license_id, "cc-zero");
  assertEquals(x.license, "https://creativecommons.org/publicdomain/zero/1.0/");
  assertEquals(x.publisher, "Office of the Chief Information Officer");
  assertEquals(x.publisher_hierarchy, "Department of Agriculture > Office of the Chief Information Officer");
  assertEquals([x.bureauCode, x.programCode], ["005:12", "005:059"]);
  assertEquals(x.temporal, "2014-01-01/2014-12-31");
  assertEquals(x.customField, '{"note":"outside the schema"}', "fields outside the schema are kept as extras");
  assertEquals(x.describedBy, "https://example.gov/dictionary.csv");
  const [res] = d!.resources as Dict[];
  assertEquals([res!.format, res!.mimetype], ["application/vnd.ms-excel", "application/vnd.ms-excel"]);

  // Strict, the default: what GSA's harvester rejects against DCAT-US 1.1 (non-federal here) fails.
  const invalid = await harvest(env, "invalid", `${site.url}/invalid.json`, "dcat_json", {
    validator_schema: "non-federal",
  });
  assertEquals([invalid.stats.added, invalid.stats.errored], [0, 1], JSON.stringify(invalid));
  const report = await act("harvest_job_report", { id: invalid.jobId }) as {
    object_errors: Record<string, { errors: { message: string; type: string }[] }>;
  };
  const messages = Object.values(report.object_errors)[0]!.errors.filter((e) => e.type === "Validation")
    .map((e) => e.message).sort();
  assertEquals(messages.length, 3, messages.join("\n"));
  assertMatch(messages[0]!, /^contactPoint\.hasEmail: "ocagoadmin@oakgov\.com" matches none of/);
  assertMatch(
    messages[1]!,
    /^distribution\[0\]\.accessURL: "\/\/\/\/\/\/not-a-url\.example\.com\/" matches none of .*format uri/,
  );
  assertMatch(messages[2]!, /^license: "<p align='center'.*matches none of .*format uri/);

  const license = await harvest(env, "license", `${site.url}/license.json`, "dcat_json", {
    validator_schema: "non-federal",
  });
  assertEquals([license.stats.added, license.stats.errored], [0, 1]);
  // Lenient keeps the import going, with the problems as warnings.
  const lenient = await harvest(env, "lenient", `${site.url}/license.json`, "dcat_json", {
    validator_schema: "non-federal",
    validation: "lenient",
  });
  assertEquals(lenient.stats.added, 1, JSON.stringify(lenient));
});

Deno.test("a contact point in JSON-LD with @graph is read, as ckanext-dcat's test_dataset_json_ld_with_at_graph expects", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  // The shape of ckanext-dcat's examples/dcat/catalog_with_at_graph.jsonld: every node at the top of @graph,
  // the contact point a blank node referenced by its label.
  const doc = {
    "@context": {
      dcat: "http://www.w3.org/ns/dcat#",
      dcterms: "http://purl.org/dc/terms/",
      foaf: "http://xmlns.com/foaf/0.1/",
      vcard: "http://www.w3.org/2006/vcard/ns#",
    },
    "@graph": [
      {
        "@id": "https://example.org#catalog",
        "@type": "dcat:Catalog",
        "dcat:dataset": { "@id": "https://example.org/d#dataset" },
      },
      {
        "@id": "https://example.org/d#dataset",
        "@type": "dcat:Dataset",
        "dcterms:title": "Title dataset",
        "dcat:contactPoint": { "@id": "_:contact" },
        "dcat:distribution": { "@id": "https://example.org/d/r#distribution" },
      },
      {
        "@id": "_:contact",
        "@type": "vcard:Individual",
        "vcard:fn": "Jane Doe",
        "vcard:hasEmail": "mailto:jane.doe@agency.gov",
      },
      {
        "@id": "https://example.org/d/r#distribution",
        "@type": "dcat:Distribution",
        "dcterms:title": "download.zip",
        "dcat:accessURL": { "@id": "https://example.org/d/r" },
        "dcat:downloadURL": { "@id": "http://example2.org/files/download.zip" },
        "dcterms:license": { "@id": "http://www.opendefinition.org/licenses/cc-zero" },
      },
    ],
  };
  await using site = remote({ "catalog.jsonld": [JSON.stringify(doc), "application/ld+json"] });
  assertEquals((await harvest(env, "jsonld", `${site.url}/catalog.jsonld`, "dcat_rdf", {})).stats.added, 1);
  await using services = await servicesOn(db.url);
  const [d] =
    (await runAction(getAction("package_search")!, { services, actor: SITE_ACTOR }, { q: "Title dataset" }) as {
      results: Dict[];
    }).results;
  const x = extrasOf(d!);
  assertEquals([d!.title, x.contact_name, x.contact_email], ["Title dataset", "Jane Doe", "jane.doe@agency.gov"]);
  assertEquals(d!.license_id, "cc-zero");
  const [r] = d!.resources as Dict[];
  assertEquals([r!.name, r!.url, r!.access_url], [
    "download.zip",
    "http://example2.org/files/download.zip",
    "https://example.org/d/r",
  ]);
});
