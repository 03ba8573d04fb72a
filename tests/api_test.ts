import { assert, assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { createApp, MAX_BODY_BYTES } from "../src/api/mod.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

type Dict = Record<string, unknown>;

Deno.test("the action API answers in CKAN's envelope and maps every kind of error to CKAN's shape", async () => {
  await using services = await testServices();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 2 }));
  const app = createApp(services);
  const post = (name: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(`/api/3/action/${name}`, {
      method: "POST",
      body: typeof body === "string" ? body : JSON.stringify(body),
      headers: { "Content-Type": "application/json", ...headers },
    });

  const ok = await app.request("/api/3/action/package_list");
  assertEquals(ok.status, 200);
  const okBody = await ok.json();
  assertEquals(okBody.success, true);
  assertEquals(okBody.result, []);
  assertMatch(okBody.help, /help_show\?name=package_list$/);

  // 409 Validation Error with fields, as CKAN.
  await runAction(getAction("harvest_source_create")!, { services, actor: SITE_ACTOR }, {
    name: "src-one",
    url: remote.url,
    source_type: "ckan",
  });
  const invalid = await app.request("/api/3/action/package_search?rows=5000");
  assertEquals(invalid.status, 409);
  const invalidBody = await invalid.json();
  assertEquals(invalidBody.success, false);
  assertEquals(invalidBody.error.__type, "Validation Error");
  assert(Array.isArray(invalidBody.error.rows));

  const badFq = await app.request("/api/3/action/package_search?fq=nosuchfield:x");
  assertEquals(badFq.status, 409);
  assertMatch((await badFq.json()).error.fq[0], /unknown field "nosuchfield"/);

  // 404 Not Found Error.
  const missing = await app.request("/api/3/action/package_show?id=nope");
  assertEquals(missing.status, 404);
  assertEquals((await missing.json()).error.__type, "Not Found Error");

  // 400 for an unknown action, a malformed body, and a state change over GET.
  const unknown = await post("no_such_action", {});
  assertEquals(unknown.status, 400);
  assertMatch((await unknown.json()).error.message, /Action name not known: no_such_action/);
  const malformed = await post("package_search", "{not json");
  assertEquals(malformed.status, 400);
  const viaGet = await app.request(`/api/3/action/harvest_source_create?name=x&url=${remote.url}&source_type=ckan`);
  assertEquals(viaGet.status, 400);
  assertMatch((await viaGet.json()).error.message, /please use POST/);

  // 403 for anonymous writes and for an unknown token.
  const anonymous = await post("harvest_source_create", {
    name: "src-two",
    url: `${remote.url}/2`,
    source_type: "ckan",
  });
  assertEquals(anonymous.status, 403);
  assertEquals((await anonymous.json()).error.__type, "Authorization Error");
  const badToken = await post("package_list", {}, { Authorization: "not-a-token" });
  assertEquals(badToken.status, 403);

  // 413 for a body over the limit.
  const big = await post("package_search", { q: "x".repeat(MAX_BODY_BYTES + 10) });
  assertEquals(big.status, 413);

  // Nothing stored changed through the refused requests.
  const [row] = await services.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM harvest_source`;
  assertEquals(row!.n, 1);

  // A 500 never carries a stack trace.
  await services.sql`DROP TABLE package CASCADE`;
  const broken = await app.request("/api/3/action/package_list");
  assertEquals(broken.status, 500);
  const text = await broken.text();
  assert(!text.includes(".ts:"), text);
  assertMatch(text, /Internal server error/);

  const health = await app.request("/healthz");
  assertEquals(health.status, 200);
});

Deno.test("harvest_source_show hides the config from anonymous callers and shows it to the site", async () => {
  await using services = await testServices();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 2 }));
  const config = JSON.stringify({ api_key: "secret-key-123", default_tags: [{ name: "x" }] });
  await runAction(getAction("harvest_source_create")!, { services, actor: SITE_ACTOR }, {
    name: "with-secret",
    url: remote.url,
    source_type: "ckan",
    config,
  });
  const app = createApp(services);
  const res = await app.request("/api/3/action/harvest_source_show?id=with-secret");
  const text = await res.text();
  assertEquals(res.status, 200);
  assert(!text.includes("secret-key-123"), "the api_key never reaches anonymous callers");
  const dict = JSON.parse(text).result as Dict;
  assertEquals(dict.config, undefined);
  assertEquals(dict.source_type, "ckan");
  const asSite = await runAction(getAction("harvest_source_show")!, { services, actor: SITE_ACTOR }, {
    id: "with-secret",
  }) as Dict;
  assertEquals(asSite.config, config);
  assertEquals(asSite.api_key, "secret-key-123");
  const list = await app.request("/api/3/action/harvest_source_list");
  assert(!(await list.text()).includes("secret-key-123"));
});

Deno.test("package_search filters with q, fq, sort and paging over harvested datasets", async () => {
  await using services = await testServices();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 60, seed: 9 }));
  const ctx = { services, actor: SITE_ACTOR };
  await runAction(getAction("harvest_source_create")!, ctx, {
    name: "search-src",
    url: remote.url,
    source_type: "ckan",
    config: { remote_orgs: "create", remote_groups: "create" },
  });
  const { runJobInProcess } = await import("../src/harvest/run.ts");
  const { getSource } = await import("../src/harvest/sources.ts");
  await runJobInProcess(ctx, await getSource(services.sql, "search-src"));
  const app = createApp(services);
  const search = async (params: Record<string, string>) => {
    const res = await app.request(`/api/3/action/package_search?${new URLSearchParams(params)}`);
    assertEquals(res.status, 200, await res.clone().text());
    return (await res.json()).result as {
      count: number;
      results: Dict[];
      facets: Record<string, Record<string, number>>;
    };
  };
  const orgOf = (d: Dict) => (d.organization as Dict).name;
  const expectedOrg = remote.catalog.datasets.filter((d) => (d.organization as Dict).name === "environment-agency");
  const byOrg = await search({ fq: "organization:environment-agency", rows: "1000" });
  assertEquals(byOrg.count, expectedOrg.length);
  assert(byOrg.results.every((d) => orgOf(d) === "environment-agency"));
  const notOrg = await search({ fq: "-organization:environment-agency", rows: "0" });
  assertEquals(notOrg.count, 60 - expectedOrg.length);
  const either = await search({ fq: "organization:environment-agency OR organization:city-of-riverton", rows: "0" });
  const expectedEither =
    remote.catalog.datasets.filter((d) =>
      ["environment-agency", "city-of-riverton"].includes((d.organization as Dict).name as string)
    ).length;
  assertEquals(either.count, expectedEither);
  const tagged = await search({ fq: "tags:traffic", rows: "0" });
  assertEquals(
    tagged.count,
    remote.catalog.datasets.filter((d) => (d.tags as Dict[]).some((t) => t.name === "traffic")).length,
  );
  const text = await search({ q: "hospital admissions" });
  assert(text.count > 0 && text.results.every((d) => /hospital/i.test(d.title as string)));
  // A text term also matches the start of a name (a prefix, not any substring); LIKE's wildcards are literal.
  const one = remote.catalog.datasets[0]!.name as string;
  const prefix = one.slice(0, one.lastIndexOf("-") + 2);
  const byPrefix = await search({ q: prefix, rows: "1000" });
  assert(byPrefix.results.some((d) => d.name === one), `q=${prefix} finds ${one}`);
  assertEquals((await search({ q: "%", rows: "0" })).count, 0);
  assertEquals((await search({ q: one.slice(3, -3), rows: "0" })).count, 0, "a substring in the middle of a name");
  const sorted = await search({ sort: "name asc", rows: "10", start: "5" });
  const allNames = remote.catalog.datasets.map((d) => d.name as string).sort();
  assertEquals(sorted.results.map((d) => d.name), allNames.slice(5, 15));
  const bySource = await search({ fq: `harvest_source_id:${(sorted.results[0]!).harvest_source_id}`, rows: "0" });
  assertEquals(bySource.count, 60);
  const facets = await search({ "facet.field": '["organization","tags"]', rows: "0" });
  assertEquals(Object.values(facets.facets.organization!).reduce((a, b) => a + b, 0), 60);
  const future = await search({ fq: "metadata_modified:[2999-01-01T00:00:00Z TO *]", rows: "0" });
  assertEquals(future.count, 0);
  const past = await search({ fq: "metadata_modified:[2000-01-01T00:00:00Z TO *] -tags:traffic", rows: "0" });
  assertEquals(past.count, 60 - tagged.count, "a range combined with a negation");
  const listing = await search({ fl: "id,metadata_modified", rows: "3", sort: "id asc" });
  assertEquals(Object.keys(listing.results[0]!).sort(), ["id", "metadata_modified"]);
});

Deno.test("the OpenAPI document covers every action with its inputs, result and rule, and a page shows it", async () => {
  await using services = await testServices();
  const app = createApp(services);
  const res = await app.request("/api/3/openapi.json");
  assertEquals(res.status, 200);
  const doc = await res.json();
  assertEquals(doc.openapi, "3.1.0");
  const { ACTIONS } = await import("../src/actions/mod.ts");
  for (const [name, action] of ACTIONS) {
    const path = doc.paths[`/api/3/action/${name}`];
    assert(path?.post, `${name} is documented`);
    assertEquals(Boolean(path.get), action.sideEffectFree, `${name}: GET only for read-only actions`);
    assertEquals(path.post["x-auth"], action.auth);
    const result = path.post.responses["200"].content["application/json"].schema.properties.result;
    assert(Object.keys(result).length > 0, `${name} documents its result`);
  }
  const create = doc.paths["/api/3/action/harvest_source_create"].post;
  const input = create.requestBody.content["application/json"].schema;
  assertEquals(input.required.sort(), ["name", "source_type", "url"]);
  assert(input.properties.frequency && input.properties.config && input.properties.owner_org);
  const search = doc.paths["/api/3/action/package_search"].get;
  assert(search.parameters.some((p: { name: string }) => p.name === "fq"));

  const page = await app.request("/api/docs");
  assertEquals(page.status, 200);
  const text = await page.text();
  for (const name of ACTIONS.keys()) assert(text.includes(`id="${name}"`), `the page has ${name}`);
  assertMatch(text, /<title>Action API reference<\/title>/);

  const help = await app.request("/api/3/action/help_show?name=harvest_job_abort");
  assertMatch((await help.json()).result, /Who may call it: sysadmin/);
});
