/** /metrics during a job, /readyz, the database log, secrets kept out of logs, and `deno install -g`. */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, tempDir, testServices } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { createApp } from "../src/api/mod.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function gauge(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("/metrics follows a running job: objects complete go up while the job runs, then it is finished", async () => {
  await using services = await testServices();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 1500, seed: 4 }));
  const ctx = { services, actor: SITE_ACTOR };
  await runAction(getAction("harvest_source_create")!, ctx, { name: "watched", url: remote.url, source_type: "ckan" });
  const app = createApp(services);
  const metrics = async () => await (await app.request("/metrics")).text();
  const before = await metrics();
  assertEquals(gauge(before, 'harvest_jobs{status="Running"}'), 0);

  let finished = false;
  const job = runJobInProcess(ctx, await getSource(services.sql, "watched"), { concurrency: 2 })
    .finally(() => finished = true);
  const samples: { running: number; complete: number }[] = [];
  while (!finished) {
    const text = await metrics();
    samples.push({
      running: gauge(text, 'harvest_jobs{status="Running"}') ?? -1,
      complete: gauge(text, 'harvest_objects{state="COMPLETE"}') ?? -1,
    });
    await new Promise((r) => setTimeout(r, 30));
  }
  const summary = await job;
  assertEquals(summary.stats.added, 1500);
  const during = samples.filter((s) => s.running === 1 && s.complete > 0 && s.complete < 1500);
  assert(during.length >= 2, `progress seen mid-job: ${JSON.stringify(samples.slice(0, 20))}`);
  const rising = during.map((s) => s.complete);
  assert(rising.every((v, i) => i === 0 || v >= rising[i - 1]!), "the count of complete objects only rises");
  const after = await metrics();
  assertEquals(gauge(after, 'harvest_jobs{status="Running"}'), 0);
  assertEquals(gauge(after, 'harvest_jobs{status="Finished"}'), 1);
  assert((gauge(after, "harvest_imported_datasets_per_second") ?? 0) > 0);
  assertMatch(after, /harvest_remote_request_duration_seconds_count\{source="watched",host="127\.0\.0\.1:\d+"\} \d+/);
  assertMatch(after, /^harvest_queue_depth\{queue="gather"\} 0$/m);

  const ready = await app.request("/readyz");
  assertEquals(await ready.json(), { status: "ok", database: "ok", queue: "ok", schema: "ok", workers: "ok" });
});

Deno.test("/healthz and /readyz say 503 and name the part that does not answer", async () => {
  await using services = await testServices({
    CKAN__HARVEST__MQ__TYPE: "redis",
    CKAN__HARVEST__MQ__URL: "redis://127.0.0.1:1/0",
  });
  const app = createApp(services);
  const res = await app.request("/healthz");
  assertEquals(res.status, 503);
  const body = await res.json();
  assertEquals(body.database, "ok");
  assertEquals(body.queue, "unreachable");
  assert(!JSON.stringify(body).includes("127.0.0.1:1"), "no connection details");
});

Deno.test("the database log keeps what log_scope and log_level ask for, and no secret", async () => {
  const harvestWith = async (env: Record<string, string>) => {
    const services = await testServices(env);
    const remote = serveCkanCatalog(sampleCatalog({ count: 5, seed: 9 }), { requireApiKey: "sekrit-42" });
    const ctx = { services, actor: SITE_ACTOR };
    await runAction(getAction("harvest_source_create")!, ctx, {
      name: "logged",
      url: remote.url,
      source_type: "ckan",
      config: { api_key: "sekrit-42" },
    });
    await runJobInProcess(ctx, await getSource(services.sql, "logged"));
    await new Promise((r) => setTimeout(r, 300)); // the database sink writes in the background
    const rows = await runAction(getAction("harvest_log_list")!, ctx, { limit: 1000 }) as {
      content: string;
      level: string;
    }[];
    await remote.close();
    await services.close();
    return rows;
  };
  assertEquals(await harvestWith({}), [], "log_scope -1 (the default) writes nothing");
  const all = await harvestWith({ CKAN__HARVEST__LOG_SCOPE: "0", CKAN__HARVEST__LOG_LEVEL: "DEBUG" });
  assert(all.some((r) => /Job \S+ finished/.test(r.content) && r.level === "INFO"), JSON.stringify(all));
  assert(all.every((r) => !r.content.includes("sekrit-42")), "no secret in the log");
  const warnings = await harvestWith({ CKAN__HARVEST__LOG_SCOPE: "0", CKAN__HARVEST__LOG_LEVEL: "warning" });
  assert(warnings.every((r) => r.level !== "INFO" && r.level !== "DEBUG"), JSON.stringify(warnings));
  const actionsOnly = await harvestWith({ CKAN__HARVEST__LOG_SCOPE: "4" });
  assert(actionsOnly.every((r) => !/Job \S+ finished/.test(r.content)), "scope 4 leaves job messages out");
});

Deno.test("a debug-level JSON log of a failing harvest with an api_key never shows the key", async () => {
  await using db = await freshDatabase();
  const catalog = sampleCatalog({ count: 4, seed: 1 });
  catalog.datasets[0]!.resources = "broken";
  await using remote = serveCkanCatalog(catalog, { requireApiKey: "sekrit-42" });
  const env = { DATABASE_URL: db.url, HARVEST_LOG_LEVEL: "debug", HARVEST_LOG_FORMAT: "json" };
  const steps = [
    ["db", "upgrade"],
    [
      "source",
      "create",
      "keyed",
      remote.url,
      "ckan",
      "",
      "",
      "",
      "MANUAL",
      '{"api_key": "sekrit-42"}',
      "--no-check-url",
    ],
    ["run-test", "keyed"],
    ["source", "show", "keyed"],
    ["jobs", "keyed", "--json"],
    ["run"],
  ];
  for (const args of steps) {
    const r = await cli(args, env);
    assert(!(r.stdout + r.stderr).includes("sekrit-42"), `harvester ${args.join(" ")} printed the key`);
  }
  // The CLI acts as the site, so `source show` prints the config only when asked for JSON: even then, the log is clean.
  const wrong = await cli([
    "source",
    "create",
    "bad-key",
    `${remote.url}/x`,
    "ckan",
    "",
    "",
    "",
    "MANUAL",
    '{"api_key": "sekrit-42", "api_version": "x"}',
  ], env);
  assertEquals(wrong.code, 1);
  assert(!wrong.stderr.includes("sekrit-42"), wrong.stderr);
});

Deno.test("deno install -g, as the README says, gives a working harvester command", async () => {
  using root = tempDir();
  const install = await new Deno.Command(Deno.execPath(), {
    args: [
      "install",
      "-g",
      "-n",
      "harvester",
      "--root",
      root.path,
      "--config",
      "deno.json",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "cli.ts",
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(install.code, 0, new TextDecoder().decode(install.stderr));
  const run = (...args: string[]) =>
    new Deno.Command(`${root.path}/bin/harvester`, {
      args,
      cwd: root.path,
      env: { HARVEST_DATA_DIR: `${root.path}/data` },
      stdout: "piped",
      stderr: "piped",
    }).output();
  assertEquals((await run("db", "upgrade")).code, 0);
  const info = await run("harvesters-info");
  assertMatch(new TextDecoder().decode(info.stdout), /ckan/);
});
