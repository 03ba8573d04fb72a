/**
 * Re-import after a mapping change (issue 20, part 6), through the CLI with the harvester task's
 * flags: objects remember the mapping they were imported with, and `reimport --stale-mapping`
 * re-derives exactly those from their stored content, without asking the remote.
 */
import { assertEquals } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";

Deno.test("reimport --stale-mapping re-derives the datasets of an older mapping from stored content, fetching nothing", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const ttl = await Deno.readTextFile(new URL("./fixtures/dcat_reference/dcat_ap_dataset.ttl", import.meta.url));
  let requests = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => {
    requests++;
    return new Response(ttl, { headers: { "Content-Type": "text/turtle" } });
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/catalog.ttl`;
    const created = await cli(
      [
        "source",
        "create",
        "geo",
        url,
        "dcat_rdf",
        "Geo",
        "true",
        "",
        "MANUAL",
        '{"profile": "dcat_ap_1"}',
        "--no-check-url",
      ],
      env,
    );
    assertEquals(created.code, 0, created.stderr);
    assertEquals(JSON.parse((await cli(["--json", "run-test", "geo"], env)).stdout).stats.added, 1);
    await using services = await servicesOn(db.url);
    const act = (n: string, i: Record<string, unknown>) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
    const temporal = async () => {
      const [d] = (await act("package_search", { q: "geochemical" }) as { results: Record<string, unknown>[] }).results;
      return Object.fromEntries((d!.extras as { key: string; value: string }[]).map((e) => [e.key, e.value]))
        .temporal_start;
    };
    assertEquals(await temporal(), "1900-01-01", "DCAT-AP 1 reads schema.org first");
    // Nothing is stale while the mapping is the one applied.
    assertEquals(JSON.parse((await cli(["--json", "reimport", "--stale-mapping", "geo"], env)).stdout).reimported, 0);

    // The operator moves the source to DCAT-AP 3: the stored record is re-derived, the remote is not asked.
    await act("harvest_source_patch", { id: "geo", config: '{"profile": "dcat_ap_3"}', check_url: false });
    const before = requests;
    const r = await cli(["--json", "reimport", "--stale-mapping", "geo"], env);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(JSON.parse(r.stdout).reimported, 1);
    assertEquals(requests, before, "nothing was fetched");
    assertEquals(await temporal(), "1905-03-01T03:00:00+02:00", "DCAT-AP 3 reads dcat:startDate first");
    assertEquals(JSON.parse((await cli(["--json", "reimport", "--stale-mapping"], env)).stdout).reimported, 0);
  } finally {
    await server.shutdown();
  }
});
