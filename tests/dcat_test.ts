/** The DCAT harvesters against real-shaped catalogs served on loopback. */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import {
  dataJsonRecord,
  dataJsonStream,
  type DcatDataset,
  dcatDatasets,
  jsonLd,
  rdfXml,
  turtle,
} from "../src/demo/dcat_catalog.ts";
import { Parser, Writer } from "n3";
import type { Services } from "../src/services.ts";

type Dict = Record<string, unknown>;

/** A server whose routes can change between runs. */
function catalogServer() {
  const routes = new Map<string, () => Response>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const route = routes.get(url.pathname + url.search) ?? routes.get(url.pathname);
    return route ? route() : new Response("not found", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    routes,
    serve(path: string, body: string, type: string) {
      routes.set(path, () => new Response(body, { headers: { "Content-Type": type } }));
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function nTriples(ttl: string): string {
  return new Writer({ format: "N-Triples" }).quadsToString(new Parser().parse(ttl));
}

function harness(services: Services) {
  const ctx = { services, actor: SITE_ACTOR };
  const act = (name: string, input: Dict) => runAction(getAction(name)!, ctx, input);
  return {
    act,
    async create(name: string, url: string, type: string, config: Dict = {}) {
      await act("harvest_source_create", { name, url, source_type: type, config });
    },
    async run(name: string) {
      return await runJobInProcess(ctx, await getSource(services.sql, name));
    },
    async datasetsOf(name: string): Promise<Dict[]> {
      const source = await getSource(services.sql, name);
      const r = await act("package_search", { fq: `harvest_source_id:${source.id}`, rows: 1000 }) as {
        results: Dict[];
      };
      return r.results;
    },
  };
}

const comparable = (d: Dict): Dict => {
  const {
    id: _i,
    name: _n,
    metadata_created: _c,
    metadata_modified: _m,
    harvest_object_id: _o,
    harvest_source_id: _s,
    harvest_source_title: _t,
    resources,
    ...rest
  } = d;
  return {
    ...rest,
    extras: (rest.extras as Dict[]).filter((e) => !String(e.key).startsWith("harvest_")),
    resources: (resources as Dict[]).map(({ id: _id, package_id: _p, created: _cr, ...r }) => r),
  };
};

Deno.test("dcat_rdf reads one DCAT-AP catalog identically in RDF/XML, Turtle, JSON-LD and N-Triples", async () => {
  await using services = await testServices();
  await using remote = catalogServer();
  const datasets = dcatDatasets(12);
  remote.serve("/catalog.ttl", turtle(datasets), "text/turtle");
  remote.serve("/catalog.rdf", rdfXml(datasets), "application/rdf+xml; charset=utf-8");
  remote.serve("/catalog.jsonld", jsonLd(datasets), "application/ld+json");
  remote.serve("/catalog.nt", nTriples(turtle(datasets)), "application/n-triples");
  remote.serve("/catalog.txt", turtle(datasets), "text/plain");
  const h = harness(services);
  const results: Dict[][] = [];
  for (
    const [name, path, config] of [
      ["ttl", "/catalog.ttl", {}],
      ["rdfxml", "/catalog.rdf", {}],
      ["jsonld", "/catalog.jsonld", {}],
      ["ntriples", "/catalog.nt", {}],
      ["forced", "/catalog.txt", { rdf_format: "turtle" }],
    ] as const
  ) {
    await h.create(`src-${name}`, `${remote.url}${path}`, "dcat_rdf", config);
    const first = await h.run(`src-${name}`);
    assertEquals(first.gatherErrors, [], name);
    assertEquals(first.stats.added, 12, `${name}: ${JSON.stringify(first.stats)}`);
    const again = await h.run(`src-${name}`);
    assertEquals(again.stats["not modified"], 12, `${name}: a second run is all not modified`);
    const found = await h.datasetsOf(`src-${name}`);
    results.push(found.map(comparable).sort((a, b) => String(a.title).localeCompare(String(b.title))));
  }
  for (const r of results.slice(1)) assertEquals(r, results[0]);

  const d = (await h.datasetsOf("src-ttl")).find((x) => x.title === "Air quality measurements 3")!;
  assertEquals(d.notes, datasets[3]!.description);
  assertEquals((d.tags as Dict[]).map((t) => t.name).sort(), ["air quality", "environment", "station-3"]);
  assertEquals(d.url, "http://data.example.org/page/ds-3");
  // The licence URI is the CKAN licence it denotes (it stays, as published, on the resource).
  assertEquals(d.license_id, "cc-by");
  const extras = Object.fromEntries((d.extras as { key: string; value: string }[]).map((e) => [e.key, e.value]));
  assertEquals(extras.identifier, "ds-3");
  assertEquals(extras.uri, "http://data.example.org/dataset/ds-3");
  assertEquals(extras.publisher_name, "Environment Agency");
  assertEquals(extras.contact_email, "data@example.org");
  assertEquals(extras.contact_name, "Data Desk");
  assertEquals(extras.temporal_start, "2020-01-01");
  assertEquals(extras.temporal_end, "2023-12-31");
  assertEquals(extras.spatial_uri, "http://publications.europa.eu/resource/authority/country/DEU");
  // Lists are JSON lists, one value or several, as ckanext-dcat stores them.
  assertEquals(extras.theme, '["http://publications.europa.eu/resource/authority/data-theme/ENVI"]');
  assertEquals(extras.issued, "2023-01-15");
  const [res] = d.resources as Dict[];
  assertEquals(res!.url, "http://data.example.org/files/ds-3.csv");
  assertEquals(res!.format, "CSV");
  assertEquals(res!.mimetype, "text/csv");
  assertEquals(res!.size, 1003);
});

Deno.test("dcat_rdf: a remote change is an update, a removed record is withdrawn, Hydra pages are followed", async () => {
  await using services = await testServices();
  await using remote = catalogServer();
  const h = harness(services);
  let datasets: DcatDataset[] = dcatDatasets(15);
  const pages = (list: DcatDataset[], loop = false) => {
    for (let p = 1; p <= 3; p++) {
      const next = p < 3 ? `${remote.url}/paged?page=${p + 1}` : loop ? `${remote.url}/paged?page=1` : undefined;
      const body = turtle(list.slice((p - 1) * 5, p * 5), { catalog: `${remote.url}/paged?page=${p}`, next });
      remote.serve(p === 1 ? "/paged" : `/paged?page=${p}`, body, "text/turtle");
      if (p === 1) remote.serve("/paged?page=1", body, "text/turtle");
    }
  };
  pages(datasets);
  await h.create("paged", `${remote.url}/paged`, "dcat_rdf");
  assertEquals((await h.run("paged")).stats.added, 15, "three pages of five");

  datasets[4] = { ...datasets[4]!, title: "Renamed upstream" };
  pages(datasets);
  const changed = await h.run("paged");
  assertEquals([changed.stats.updated, changed.stats["not modified"]], [1, 14]);

  datasets = datasets.filter((_, i) => i !== 7);
  datasets.push(dcatDatasets(16)[15]!);
  pages(datasets);
  const removed = await h.run("paged");
  assertEquals([removed.stats.added, removed.stats.deleted, removed.stats["not modified"]], [1, 1, 14]);
  const gone = await h.act("package_search", { q: "ds-7", include_drafts: true }) as { count: number };
  assertEquals(gone.count, 0, "the withdrawn dataset no longer shows");

  // A loop: page 3 points back to page 1. The job stops with a message; nothing is withdrawn.
  pages(datasets.slice(0, 12), true);
  const looped = await h.run("paged");
  assertEquals(looped.gatherErrors.length, 1);
  assertMatch(
    looped.gatherErrors[0]!,
    /Paging loop: .*page=2 was already read \(after 4 page\(s\)\)|The remote is looping: page 4 repeats page 1/,
  );
  assertEquals(looped.stats.deleted, 0, "an incomplete listing withdraws nothing");
});

Deno.test("dcat_json streams a data.json of thousands of records: added, then not modified, then one withdrawn", async () => {
  await using services = await testServices();
  await using remote = catalogServer();
  const h = harness(services);
  const count = 3000;
  let skip = -1;
  remote.routes.set("/data.json", () =>
    new Response(
      dataJsonStream(count, (i) =>
        i === skip ? { ...dataJsonRecord(i), identifier: "replacement-x" } : dataJsonRecord(i)),
      { headers: { "Content-Type": "application/json" } },
    ));
  await h.create("federal", `${remote.url}/data.json`, "dcat_json");
  const first = await h.run("federal");
  assertEquals(first.gatherErrors, []);
  assertEquals(first.stats.added, 3000);
  const second = await h.run("federal");
  assertEquals(second.stats["not modified"], 3000);
  skip = 10;
  const third = await h.run("federal");
  assertEquals([third.stats.added, third.stats.deleted, third.stats["not modified"]], [1, 1, 2999]);
  const [d] = (await h.act("package_search", { q: "Federal dataset 5", rows: 1 }) as { results: Dict[] }).results;
  const extras = Object.fromEntries((d!.extras as { key: string; value: string }[]).map((e) => [e.key, e.value]));
  assertEquals(extras.accessLevel, "public");
  assertEquals(extras.bureauCode, "015:11");
  // contactPoint is the maintainer, as ckanext-datajson maps it.
  assertEquals(d!.maintainer_email, "jane@agency.example.gov");
  assertEquals((d!.resources as Dict[])[0]!.mimetype, "text/csv");
});

Deno.test("dcat_json keeps validation errors and warnings apart, fails oversized records alone, reads plain arrays", async () => {
  await using services = await testServices();
  await using remote = catalogServer();
  const h = harness(services);
  const records: Dict[] = [0, 1, 2, 3, 4].map((i) => dataJsonRecord(i));
  delete records[1]!.publisher; // an error
  delete records[1]!.keyword; // another
  delete records[2]!.bureauCode; // a warning only
  records[2]!.modified = "last tuesday"; // another warning
  records[3] = dataJsonRecord(3, 5000); // too large for max_record_kb = 4
  remote.serve("/data.json", JSON.stringify({ conformsTo: "x", dataset: records }), "application/json");
  // Lenient: today's checks, with warnings that do not stop the import (strict is tested below).
  await h.create("checked", `${remote.url}/data.json`, "dcat_json", { max_record_kb: 4, validation: "lenient" });
  const run = await h.run("checked");
  assertEquals([run.stats.added, run.stats.errored], [3, 2], JSON.stringify(run.stats));
  const report = await h.act("harvest_job_report", { id: run.jobId }) as {
    object_errors: Record<string, { guid: string; original_url?: string; errors: { message: string; type: string }[] }>;
  };
  const byGuid = Object.fromEntries(Object.values(report.object_errors).map((o) => [o.guid, o]));
  const invalid = byGuid["https://agency.example.gov/id/1"]!;
  assertEquals(invalid.errors.filter((e) => e.type === "Validation").map((e) => e.message).sort(), [
    "keyword is required: a list of at least one string",
    "publisher is required, with a name",
  ]);
  assertEquals(invalid.original_url, "https://agency.example.gov/data/1");
  const warned = byGuid["https://agency.example.gov/id/2"]!;
  assert(warned.errors.every((e) => e.type === "Validation warning"), JSON.stringify(warned));
  assertEquals(warned.errors.length, 2);
  const large = byGuid["https://agency.example.gov/id/3"]!;
  assertMatch(large.errors[0]!.message, /is \d+ KB, over max_record_kb \(4 KB\): not imported/);

  remote.serve(
    "/plain.json",
    JSON.stringify([{ identifier: "p-1", title: "Plain one" }, { title: "no id" }]),
    "application/json",
  );
  await h.create("plain", `${remote.url}/plain.json`, "dcat_json");
  const plain = await h.run("plain");
  assertEquals(plain.stats.added, 1);
  assertEquals(plain.gatherErrors.length, 1);
  assertMatch(plain.gatherErrors[0]!, /Record 2 has no identifier/);
});

Deno.test("DCAT source configs are validated with messages that name the option", async () => {
  await using services = await testServices();
  const h = harness(services);
  const problem = async (type: string, config: Dict | string) => {
    try {
      await h.act("harvest_source_create", {
        name: `c-${crypto.randomUUID().slice(0, 6)}`,
        url: "http://127.0.0.1:9/x",
        source_type: type,
        config,
        check_url: false,
      });
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  };
  assertMatch(await problem("dcat_rdf", { rdf_format: "yaml" }), /rdf_format must be one of/);
  assertMatch(
    await problem("dcat_rdf", { profile: "nope" }),
    /profile must be one of dcat_ap_3, dcat_ap_2, dcat_ap_1, default, not nope/,
  );
  assertMatch(await problem("dcat_rdf", { max_pages: "ten" }), /max_pages must be a number/);
  assertMatch(await problem("dcat_json", { colour: "red" }), /unknown option\(s\): colour/);
  assertMatch(await problem("dcat_json", "{nope"), /Not valid JSON/);
  assertEquals(await problem("dcat_json", { max_record_kb: 64, delete_threshold: 10 }), "");
});
