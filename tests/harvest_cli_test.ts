import { taskArgs } from "./task_flags.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, servicesOn } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { ANONYMOUS, getAction, runAction } from "../src/actions/mod.ts";

type Dict = Record<string, unknown>;

Deno.test("source create and run-test put every remote dataset into the local catalog; a second run-test is all not modified", async () => {
  await using db = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 130, seed: 7 }));
  const env = { DATABASE_URL: db.url };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  const created = await cli(["source", "create", "remote-ckan", remote.url, "ckan", "Remote CKAN"], env);
  assertEquals(created.code, 0, created.stderr);
  assertMatch(created.stdout, /Created new harvest source:/);
  assertMatch(created.stdout, /There are 1 harvest sources/);

  const first = await cli(["run-test", "remote-ckan"], env);
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.stdout, /130 added, 0 updated, 0 not modified, 0 deleted, 0 errored/);

  await using services = await servicesOn(db.url);
  const ctx = { services, actor: ANONYMOUS };
  for (const remoteDataset of remote.catalog.datasets) {
    const local = await runAction(getAction("package_show")!, ctx, { id: remoteDataset.id as string }) as Dict;
    assertEquals(local.title, remoteDataset.title);
    assertEquals(local.notes, remoteDataset.notes);
    assertEquals(
      (local.tags as Dict[]).map((t) => t.name).sort(),
      (remoteDataset.tags as Dict[]).map((t) => t.name).sort(),
    );
    assertEquals(
      (local.resources as Dict[]).map((r) => [r.id, r.url, r.format]),
      (remoteDataset.resources as Dict[]).map((r) => [r.id, r.url, r.format]),
    );
    const harvestExtras = Object.fromEntries(
      (local.extras as Dict[]).filter((e) => String(e.key).startsWith("harvest_")).map((e) => [e.key, e.value]),
    );
    assertEquals(harvestExtras, {
      harvest_object_id: local.harvest_object_id,
      harvest_source_id: local.harvest_source_id,
      harvest_source_title: "Remote CKAN",
    }, "the harvest info is in extras, where CKAN clients read it");
    assertEquals(
      (local.extras as Dict[]).filter((e) => !String(e.key).startsWith("harvest_")),
      [...(remoteDataset.extras as Dict[])].sort((a, b) => String(a.key).localeCompare(String(b.key))),
    );
    assertEquals(local.harvest_source_title, "Remote CKAN");
    assert(!("url_type" in (local.resources as Dict[])[0]!), "url_type is removed from resources");
  }
  const search = await runAction(getAction("package_search")!, ctx, { rows: 0 }) as Dict;
  assertEquals(search.count, 130);

  const second = await cli(["run-test", "remote-ckan"], env);
  assertEquals(second.code, 0, second.stderr);
  assertMatch(second.stdout, /0 added, 0 updated, 130 not modified, 0 deleted, 0 errored/);

  const jobs = await cli(["--json", "jobs", "remote-ckan"], env);
  const list = JSON.parse(jobs.stdout) as Dict[];
  assertEquals(list.length, 2);
  assertEquals(list.map((j) => j.status), ["Finished", "Finished"]);
  assertEquals((list[1]!.stats as Dict).added, 130);
});

Deno.test("a remote change shows as updated on the next run-test, and only that dataset is rewritten", async () => {
  await using db = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 20, seed: 3 }));
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  await cli(["source", "create", "rr", remote.url, "ckan"], env);
  assertMatch((await cli(["run-test", "rr"], env)).stdout, /20 added/);
  const changed = remote.catalog.datasets[4]!;
  changed.title = "A new title";
  changed.metadata_modified = new Date().toISOString().replace("Z", "");
  const run = await cli(["run-test", "rr"], env);
  assertMatch(run.stdout, /0 added, 1 updated, 19 not modified, 0 deleted, 0 errored/);
  await using services = await servicesOn(db.url);
  const local = await runAction(getAction("package_show")!, { services, actor: ANONYMOUS }, {
    id: changed.id as string,
  }) as Dict;
  assertEquals(local.title, "A new title");
  assertEquals(local.name, changed.name, "the local name is kept on update");
});

Deno.test("bad input to the CLI gives one clear line, a non-zero exit, and changes nothing stored", async () => {
  await using db = await freshDatabase();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 3 }));
  const html = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("<html><body>Not a catalog</body></html>", { headers: { "content-type": "text/html" } }),
  );
  const htmlUrl = `http://127.0.0.1:${html.addr.port}`;
  const env = { DATABASE_URL: db.url };
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadUrl = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}`;
  closed.close();
  await cli(["db", "upgrade"], env);
  assertEquals((await cli(["source", "create", "first", remote.url, "ckan"], env)).code, 0);

  const cases: [string[], RegExp][] = [
    [
      ["source", "create", "aa", remote.url + "/other", "nosuch"],
      /source_type: Unknown harvester type: nosuch\. Registered types: \[ckan, dcat_rdf, dcat_json, csw, waf, single_doc\]/,
    ],
    [
      ["source", "create", "bb", remote.url + "/x", "ckan", "", "", "", "MANUAL", "{not json"],
      /config: Error parsing the configuration options: Not valid JSON/,
    ],
    [
      ["source", "create", "cc", deadUrl, "ckan"],
      /url: Cannot use http:\/\/127\.0\.0\.1:\d+ as a CKAN source: Request error: connection refused/,
    ],
    [
      ["source", "create", "dd", htmlUrl, "ckan"],
      /url: Cannot use .* as a CKAN source: Response from remote CKAN was not JSON/,
    ],
    [["source", "create", "ee", remote.url + "/", "ckan"], /url: There already is a Harvest Source for this URL/],
    [["source", "create", "first", remote.url + "/y", "ckan"], /name: That name is already in use: first/],
    [["source", "create", "ff", "not a url", "ckan"], /url: Not a valid http\(s\) URL/],
    [
      ["source", "create", "gg", remote.url + "/z", "ckan", "", "", "", "YEARLY"],
      /frequency: Frequency YEARLY not recognised/,
    ],
    [["source", "show", "missing"], /Harvest source not found: missing/],
    [["run-test", "missing"], /Harvest source not found: missing/],
  ];
  for (const [args, expected] of cases) {
    const r = await cli(args, env);
    assertEquals(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 1, `one line for ${args.join(" ")}: ${r.stderr}`);
    assertMatch(lines[0]!, expected);
    assert(!/\bat .*\.ts:\d+/.test(r.stderr), "no stack trace");
  }
  await using services = await servicesOn(db.url);
  const [row] = await services.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM harvest_source`;
  const n = row!.n;
  assertEquals(n, 1);
  await html.shutdown();
});

Deno.test("run-test against a remote that stopped answering reports the gather error and exits non-zero", async () => {
  await using db = await freshDatabase();
  const remote = serveCkanCatalog(sampleCatalog({ count: 2 }));
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  assertEquals((await cli(["source", "create", "gone", remote.url, "ckan"], env)).code, 0);
  await remote.close();
  const r = await cli(["run-test", "gone"], env);
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /Unable to search remote CKAN for datasets: Request error: connection refused/);
  assertMatch(r.stdout, /0 added, 0 updated, 0 not modified, 0 deleted, 1 errored/);
});

Deno.test("CLI commands refuse to run on a database whose schema is not up to date", async () => {
  await using db = await freshDatabase();
  const r = await cli(["sources"], { DATABASE_URL: db.url });
  assertEquals(r.code, 1);
  assertMatch(r.stderr, /^Error: The database schema is not up to date .*run `harvester db upgrade`\n$/);
  const up = await cli(["initdb"], { DATABASE_URL: db.url });
  assertMatch(up.stdout, /Applied migrations: 0001_initial/);
  const again = await cli(["db", "upgrade"], { DATABASE_URL: db.url });
  assertMatch(again.stdout, /Database schema is up to date/);
  assertEquals((await cli(["run_test", "nothing"], { DATABASE_URL: db.url })).code, 1);
});

Deno.test("an invalid setting stops the CLI and the server with one line naming the key, the value and what is allowed", async () => {
  await using db = await freshDatabase();
  const bad = { DATABASE_URL: db.url, CKAN__HARVEST__MQ__TYPE: "kafka" };
  const r = await cli(["sources"], bad);
  assertEquals(r.code, 1);
  assertEquals(
    r.stderr,
    'Error: Invalid configuration: ckan.harvest.mq.type = "kafka": expected one of postgres, redis, amqp, ampq\n',
  );
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/harvest.ini`, "[app:main]\nckanext.harvest.default_dataset_name_append = words\n");
  const fromFile = await cli(["-c", `${dir}/harvest.ini`, "sources"], { DATABASE_URL: db.url });
  assertMatch(
    fromFile.stderr,
    /^Error: Invalid configuration: ckanext\.harvest\.default_dataset_name_append = "words": expected one of number-sequence, random-hex\n$/,
  );
  const server = new Deno.Command(Deno.execPath(), {
    args: taskArgs("serve"),
    env: { ...bad, PORT: "0", NO_COLOR: "1" },
    cwd: new URL("../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  });
  const out = await server.output();
  assertEquals(out.code, 1);
  assertMatch(new TextDecoder().decode(out.stderr), /^Error: Invalid configuration: ckan\.harvest\.mq\.type = "kafka"/);
  Deno.removeSync(dir, { recursive: true });
});
