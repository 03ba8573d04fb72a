import { assertEquals, assertMatch } from "./assert.ts";
import { callApi, cli, freshDatabase, serve } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

type Dict = Record<string, unknown>;

Deno.test("the ckan catalog target writes harvested datasets into another instance through its action API", async () => {
  await using dbA = await freshDatabase();
  await using dbB = await freshDatabase();
  await using upstream = serveCkanCatalog(sampleCatalog({ count: 40, seed: 31 }));
  const envA = { DATABASE_URL: dbA.url };
  await cli(["db", "upgrade"], envA);
  await cli(["user", "add", "pusher", "--sysadmin"], envA);
  const token = (await cli(["user", "token", "add", "pusher", "target"], envA)).stdout.trim();
  const a = await serve(envA);
  try {
    const envB = {
      DATABASE_URL: dbB.url,
      CKAN__HARVEST__CATALOG__TYPE: "ckan",
      CKAN__HARVEST__CATALOG__URL: a.url,
      CKAN__HARVEST__CATALOG__API_TOKEN: token,
    };
    await cli(["db", "upgrade"], envB);
    await cli(
      ["source", "create", "up", upstream.url, "ckan", "", "", "", "MANUAL", '{"remote_orgs": "create"}'],
      envB,
    );
    assertMatch(
      (await cli(["run-test", "up"], envB)).stdout,
      /40 added, 0 updated, 0 not modified, 0 deleted, 0 errored/,
    );
    const count = async () =>
      ((await callApi(a.url, "package_search", { rows: "0" }, { method: "GET" })).body.result as Dict).count;
    assertEquals(await count(), 40);
    const first = upstream.catalog.datasets[0]!;
    const onA = (await callApi(a.url, "package_show", { id: first.id as string }, { method: "GET" })).body
      .result as Dict;
    assertEquals([onA.name, onA.title, (onA.organization as Dict).name], [
      first.name,
      first.title,
      (first.organization as Dict).name,
    ]);
    assertEquals((onA.resources as Dict[]).map((r) => r.url), (first.resources as Dict[]).map((r) => r.url));

    first.title = "Changed upstream";
    first.metadata_modified = new Date().toISOString().replace("Z", "");
    upstream.catalog.datasets.splice(1, 1);
    assertMatch((await cli(["run-test", "up"], envB)).stdout, /0 added, 1 updated, 38 not modified, 1 deleted/);
    const changed = (await callApi(a.url, "package_show", { id: first.id as string }, { method: "GET" })).body
      .result as Dict;
    assertEquals(changed.title, "Changed upstream");
    assertEquals(await count(), 39);

    // A target that refuses the writes: every import fails with a message naming the target.
    const refused = { ...envB, DATABASE_URL: dbB.url, CKAN__HARVEST__CATALOG__API_TOKEN: "hv_wrong" };
    await cli([
      "source",
      "create",
      "again",
      `${upstream.url}/again`,
      "ckan",
      "",
      "",
      "",
      "MANUAL",
      "",
      "--no-check-url",
    ], refused);
    const run = await cli(["run-test", "again"], refused);
    assertMatch(run.stdout, /39 errored/);
    const report = JSON.parse((await cli(["--json", "jobs", "again"], refused)).stdout)[0] as Dict;
    void report;
  } finally {
    await a.proc.stop();
  }
  const missing = await cli(["sources"], { DATABASE_URL: dbB.url, CKAN__HARVEST__CATALOG__TYPE: "ckan" });
  assertMatch(
    missing.stderr,
    /ckan\.harvest\.catalog\.url is unset: required when ckan\.harvest\.catalog\.type = ckan/,
  );
});
