import { assert, assertEquals, assertMatch } from "./assert.ts";
import { callApi, cli, freshDatabase, serve, servicesOn } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

type Dict = Record<string, unknown>;

Deno.test("one instance mirrors another: orgs and groups created, changes updated, deletions and private datasets withdrawn, an emptied remote waits for approval", async () => {
  await using dbA = await freshDatabase();
  await using dbB = await freshDatabase();
  await using upstream = serveCkanCatalog(sampleCatalog({ count: 150, seed: 21 }));
  const envA = { DATABASE_URL: dbA.url };
  const envB = { DATABASE_URL: dbB.url };
  await cli(["db", "upgrade"], envA);
  await cli(["db", "upgrade"], envB);
  const cfg = '{"remote_orgs": "create", "remote_groups": "create"}';
  await cli(["source", "create", "up", upstream.url, "ckan", "", "", "", "MANUAL", cfg], envA);
  assertMatch((await cli(["run-test", "up"], envA)).stdout, /150 added/);
  await cli(["user", "add", "admin-a", "--sysadmin"], envA);
  const token = (await cli(["user", "token", "add", "admin-a", "mirror-test"], envA)).stdout.trim();
  assertMatch(token, /^hv_[0-9a-f]{64}$/);

  const a = await serve(envA);
  try {
    const created = await cli(["source", "create", "mirror", a.url, "ckan", "", "", "", "MANUAL", cfg], envB);
    assertEquals(created.code, 0, created.stderr);
    assertMatch((await cli(["run-test", "mirror"], envB)).stdout, /150 added, 0 updated, 0 not modified/);

    await using b = await servicesOn(dbB.url);
    const [orgs] = await b.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM "group" WHERE is_organization`;
    const remoteOrgs = new Set(upstream.catalog.datasets.map((d) => (d.organization as Dict).name));
    assertEquals(orgs!.n, remoteOrgs.size, "remote_orgs=create made the remote organizations");
    const sample = upstream.catalog.datasets[7]!;
    const local = (await callApiIn(b, "package_show", { id: sample.id as string })) as Dict;
    assertEquals((local.organization as Dict).name, (sample.organization as Dict).name);
    assertEquals((local.groups as Dict[]).map((g) => g.name), (sample.groups as Dict[]).map((g) => g.name));
    assertEquals(local.name, sample.name);
    assertEquals((local.tags as Dict[]).map((t) => t.name).sort(), (sample.tags as Dict[]).map((t) => t.name).sort());

    assertMatch((await cli(["run-test", "mirror"], envB)).stdout, /0 added, 0 updated, 150 not modified, 0 deleted/);

    // A remote change shows as updated; a deletion and a dataset made private as deleted.
    const names = upstream.catalog.datasets.map((d) => d.name as string);
    const patched = await callApi(a.url, "package_patch", { id: names[0], title: "Renamed upstream" }, { token });
    assertEquals(patched.status, 200, JSON.stringify(patched.body));
    assertEquals((await callApi(a.url, "package_delete", { id: names[1] }, { token })).status, 200);
    assertEquals((await callApi(a.url, "package_patch", { id: names[2], private: true }, { token })).status, 200);
    const anonymousWrite = await callApi(a.url, "package_patch", { id: names[3], title: "x" });
    assertEquals(anonymousWrite.status, 403);
    assertMatch(
      (await cli(["run-test", "mirror"], envB)).stdout,
      /0 added, 1 updated, 147 not modified, 2 deleted, 0 errored/,
    );
    assertEquals(((await callApiIn(b, "package_show", { id: names[0]! })) as Dict).title, "Renamed upstream");
    const [gone] = await b.sql<{ state: string }[]>`SELECT state FROM package WHERE name = ${names[1]!}`;
    assertEquals(gone!.state, "deleted");

    // The remote is emptied: nothing is deleted; every deletion waits for approval.
    await using aServices = await servicesOn(dbA.url);
    await aServices.sql`UPDATE package SET state = 'deleted'`;
    const emptied = await cli(["run-test", "mirror"], envB);
    assertMatch(emptied.stdout, /0 deleted/);
    const held = await cli(["deletions", "mirror"], envB);
    assertMatch(held.stdout, /^148 deletion\(s\) wait for approval$/m);
    assertMatch(held.stdout, /the remote listed no records at all/);
    const [active] = await b.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM package WHERE state = 'active'`;
    assertEquals(active!.n, 148, "nothing was withdrawn without approval");
    const approved = await cli(["deletions", "approve", "mirror"], envB);
    assertMatch(approved.stdout, /Approved 148 deletion\(s\); 148 dataset\(s\) withdrawn/);
    const [left] = await b.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM package WHERE state = 'active'`;
    assertEquals(left!.n, 0);

    // The datasets come back upstream: they are revived under their old ids and names.
    await aServices.sql`UPDATE package SET state = 'active', private = false`;
    const back = await cli(["run-test", "mirror"], envB);
    assertMatch(back.stdout, /150 added, 0 updated, 0 not modified, 0 deleted, 0 errored/);
    const [revived] = await b.sql<{ name: string }[]>`SELECT name FROM package WHERE id = ${sample.id as string}`;
    assertEquals(revived!.name, sample.name);
  } finally {
    await a.proc.stop();
  }
});

Deno.test("a job that would withdraw more than delete_threshold holds the deletions; reject keeps the datasets", async () => {
  await using db = await freshDatabase();
  await using upstream = serveCkanCatalog(sampleCatalog({ count: 20, seed: 8 }));
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  await cli(
    ["source", "create", "guarded", upstream.url, "ckan", "", "", "", "MANUAL", '{"delete_threshold": 20}'],
    env,
  );
  assertMatch((await cli(["run-test", "guarded"], env)).stdout, /20 added/);
  // 2 of 20 (10 %) go: withdrawn at once.
  const [d0, d1, d2, d3, d4, d5] = upstream.catalog.datasets.splice(0, 6);
  upstream.catalog.datasets.push(d2!, d3!, d4!, d5!);
  assertMatch((await cli(["run-test", "guarded"], env)).stdout, /2 deleted/);
  void d0, void d1;
  // 4 of the remaining 18 (22 %) go: held.
  upstream.catalog.datasets.splice(-4, 4);
  const run = await cli(["run-test", "guarded"], env);
  assertMatch(run.stdout, /0 deleted/);
  const held = await cli(["--json", "deletions", "guarded"], env);
  const rows = JSON.parse(held.stdout) as Dict[];
  assertEquals(rows.length, 4);
  assertMatch(
    String(rows[0]!.reason),
    /4 of 18 datasets \(22\.2 %\) would be withdrawn, more than the delete_threshold of 20 %/,
  );
  const rejected = await cli(["deletions", "reject", "guarded", String(rows[0]!.guid)], env);
  assertMatch(rejected.stdout, /Rejected 1 deletion\(s\); the datasets stay/);
  assertMatch((await cli(["deletions", "guarded"], env)).stdout, /^3 deletion\(s\) wait for approval$/m);
  const noDelete = await cli([
    "source",
    "create",
    "keeper",
    `${upstream.url}/x`,
    "ckan",
    "",
    "",
    "",
    "MANUAL",
    '{"delete_missing": "yes"}',
    "--no-check-url",
  ], env);
  assertMatch(noDelete.stderr, /config: Error parsing the configuration options: delete_missing must be boolean/);
  assert(noDelete.code === 1);
});

async function callApiIn(services: Awaited<ReturnType<typeof servicesOn>>, action: string, input: Dict) {
  const { getAction, runAction, ANONYMOUS } = await import("../src/actions/mod.ts");
  return await runAction(getAction(action)!, { services, actor: ANONYMOUS }, input);
}
