/**
 * The creates of one lot are written in one statement (`LotWrites`): what a lone import resolves one
 * dataset at a time (a name or an id already taken, a remote resource id used twice) must come out
 * the same when the datasets arrive together, without the lot falling back to one by one.
 */
import { assert, assertEquals } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { createJob, queueJob } from "../src/harvest/lifecycle.ts";
import { gatherJob } from "../src/harvest/gather.ts";
import { processObjects } from "../src/harvest/process.ts";
import type { Harvester } from "../src/harvest/interface.ts";

type Dict = Record<string, unknown>;

const dataset = (id: string, name: string, extra: Dict = {}) => ({
  id,
  name,
  title: name,
  notes: `About ${name}`,
  state: "active",
  private: false,
  metadata_modified: "2026-01-01T00:00:00",
  tags: [{ name: "lots" }],
  extras: [{ key: "origin", value: id }],
  resources: [],
  ...extra,
});

const lotCount = async (
  services: { metrics: { importLots: { get(): Promise<{ values: { labels: Dict; value: number }[] }> } } },
  written: string,
) => (await services.metrics.importLots.get()).values.find((v) => v.labels.written === written)?.value ?? 0;

Deno.test("one lot's creates: taken names and ids, a shared resource id and twin names resolve as alone, in one statement", async () => {
  await using services = await testServices();
  const ctx = { services, actor: SITE_ACTOR };
  const act = (action: string, input: Dict) => runAction(getAction(action)!, ctx, input) as Promise<Dict>;
  // A local dataset already holds this id and this name.
  await act("package_create", { id: "taken-id", name: "taken-name", title: "Local" });
  const datasets = [
    dataset("twin-1", "twin"),
    dataset("twin-2", "twin"),
    dataset("res-a", "res-a", { resources: [{ id: "shared-resource", url: "https://remote.example/a.csv" }] }),
    dataset("res-b", "res-b", { resources: [{ id: "shared-resource", url: "https://remote.example/b.csv" }] }),
    dataset("taken-id", "fresh-name"),
    dataset("wants-taken-name", "taken-name"),
  ];
  await using remote = serveCkanCatalog({ organizations: [], groups: [], datasets });
  await act("harvest_source_create", { name: "lots", url: remote.url, source_type: "ckan", check_url: false });
  const before = await services.metrics.importLots.get();
  const summary = await runJobInProcess(ctx, await getSource(services.sql, "lots"));
  assertEquals(summary.stats.added, 6, JSON.stringify(summary));
  assertEquals(summary.stats.errored, 0);

  // The six came as one lot, written together: no import failed and split the lot.
  const lots = (await services.metrics.importLots.get()).values;
  const count = (written: string) => lots.find((v) => v.labels.written === written)?.value ?? 0;
  assertEquals(count("split") - (before.values.find((v) => v.labels.written === "split")?.value ?? 0), 0);
  assert(count("together") >= 1);

  const rows = await services.sql<{ origin: string; id: string; name: string }[]>`
    SELECT e.value AS origin, p.id, p.name FROM package p JOIN package_extra e ON e.package_id = p.id
    WHERE e.key = 'origin' ORDER BY e.value`;
  const byOrigin = new Map(rows.map((r) => [r.origin, r]));
  assertEquals(rows.length, 6);
  // Twin names: the first keeps it, the second gets the next free one.
  assertEquals(new Set([byOrigin.get("twin-1")!.name, byOrigin.get("twin-2")!.name]), new Set(["twin", "twin1"]));
  // A remote id another dataset holds: a fresh id, the name asked for.
  assert(byOrigin.get("taken-id")!.id !== "taken-id");
  assertEquals(byOrigin.get("taken-id")!.name, "fresh-name");
  // A name another dataset holds: the next free one; the local dataset is untouched.
  assertEquals(byOrigin.get("wants-taken-name")!.name, "taken-name1");
  const [local] = await services.sql`SELECT name, title FROM package WHERE id = 'taken-id'`;
  assertEquals(local, { name: "taken-name", title: "Local" });
  // One remote resource id in two datasets: each dataset has its resource, under distinct ids.
  const resources = await services.sql<{ id: string; url: string; package_id: string }[]>`
    SELECT id, url, package_id FROM resource ORDER BY url`;
  assertEquals(resources.map((r) => r.url), ["https://remote.example/a.csv", "https://remote.example/b.csv"]);
  assertEquals(new Set(resources.map((r) => r.id)).size, 2);
  assert(resources.some((r) => r.id === "shared-resource"));
  assertEquals(resources.map((r) => r.package_id), [byOrigin.get("res-a")!.id, byOrigin.get("res-b")!.id]);
  // Children land on their own dataset: each has its tag and its one extra.
  const [children] = await services.sql`
    SELECT count(*)::int AS tags, count(DISTINCT package_id)::int AS datasets FROM package_tag WHERE name = 'lots'`;
  assertEquals(children, { tags: 6, datasets: 6 });

  // Clearing the source purges its datasets, and their children go with them (migration 0014's
  // trigger, in place of per-row foreign keys); the local dataset keeps its own.
  await act("package_patch", { id: "taken-id", tags: [{ name: "local" }], extras: [{ key: "k", value: "v" }] });
  await act("harvest_source_clear", { id: "lots" });
  const left = await services.sql<{ t: string; n: number }[]>`
    SELECT 'extra' AS t, count(*)::int AS n FROM package_extra UNION ALL
    SELECT 'tag', count(*)::int FROM package_tag UNION ALL
    SELECT 'resource', count(*)::int FROM resource UNION ALL
    SELECT 'orphans', count(*)::int FROM (
      SELECT package_id FROM package_extra UNION ALL SELECT package_id FROM package_tag
      UNION ALL SELECT package_id FROM resource) c WHERE NOT EXISTS (SELECT 1 FROM package p WHERE p.id = c.package_id)`;
  assertEquals(Object.fromEntries(left.map((r) => [r.t, r.n])), { extra: 1, tag: 1, resource: 0, orphans: 0 });
});

Deno.test("one bad record in a lot of 100 costs the lot a few halvings, and every other record is added", async () => {
  await using services = await testServices();
  const ctx = { services, actor: SITE_ACTOR };
  const act = (action: string, input: Dict) => runAction(getAction(action)!, ctx, input) as Promise<Dict>;
  const datasets = Array.from({ length: 100 }, (_, i) => dataset(`d-${String(i).padStart(3, "0")}`, `d-${i}`));
  // Tags must be names: this record fails its import, and with it the transaction of its lot.
  datasets[37] = { ...datasets[37]!, tags: [12345] } as never;
  await using remote = serveCkanCatalog({ organizations: [], groups: [], datasets }, { rowsMax: 1000 });
  await act("harvest_source_create", {
    name: "halves",
    url: remote.url,
    source_type: "ckan",
    config: JSON.stringify({ rows: 1000 }),
    check_url: false,
  });
  const summary = await runJobInProcess(ctx, await getSource(services.sql, "halves"));
  assertEquals([summary.stats.added, summary.stats.errored], [99, 1], JSON.stringify(summary));
  const [error] = await services.sql<{ guid: string; message: string }[]>`
    SELECT o.guid, e.message FROM harvest_object_error e JOIN harvest_object o ON o.id = e.harvest_object_id`;
  assertEquals(error!.guid, "d-037");
  assert(error!.message.includes("tags"), error!.message);
  // The lot was halved around the bad record: at most two failed lots per halving (log2 100 < 7).
  const splits = await lotCount(services, "split");
  assert(splits >= 1 && splits <= 7, `${splits} lots were split`);
  assertEquals([...await services.sql`SELECT count(*)::int AS n FROM package`], [{ n: 99 }]);
});

Deno.test("an object handed to another process while this one was away is left to it: the lot writes nothing for it", async () => {
  await using services = await testServices();
  const ctx = { services, actor: SITE_ACTOR };
  const act = (action: string, input: Dict) => runAction(getAction(action)!, ctx, input) as Promise<Dict>;
  await using remote = serveCkanCatalog({
    organizations: [],
    groups: [],
    datasets: ["kept-1", "handed-on", "kept-2"].map((id) => dataset(id, id)),
  });
  await act("harvest_source_create", { name: "fenced", url: remote.url, source_type: "ckan", check_url: false });
  const source = await getSource(services.sql, "fenced");
  const job = await queueJob(services, await createJob(services, source.id));
  const ids: string[] = [];
  await gatherJob(services, job.id, { publish: (batch) => Promise.resolve(void ids.push(...batch)) });
  assertEquals(ids.length, 3);
  // While this process fetches "handed-on", it is taken for dead: the recovery releases the object
  // and another worker claims it, as after a partition or a long pause.
  const ckan = services.harvesters.get("ckan")!;
  const stalled: Harvester = {
    ...ckan,
    info: () => ckan.info(),
    async fetch(fetchCtx) {
      if (fetchCtx.object.guid === "handed-on") {
        await services.sql`UPDATE harvest_object SET leased_by = 'other-host:1:abcd',
          lease_until = now() + interval '5 minutes' WHERE id = ${fetchCtx.object.id}`;
      }
      return await ckan.fetch(fetchCtx);
    },
  };
  const outcomes = await processObjects(services, ids, { harvester: stalled });
  const byGuid = new Map(
    (await services.sql<{ id: string; guid: string; state: string; leased_by: string }[]>`
      SELECT id, guid, state, leased_by FROM harvest_object WHERE id = ANY(${ids})`).map((r) => [r.guid, r]),
  );
  assertEquals(outcomes.get(byGuid.get("kept-1")!.id), "added");
  assertEquals(outcomes.get(byGuid.get("kept-2")!.id), "added");
  assertEquals(outcomes.get(byGuid.get("handed-on")!.id), "skipped", "left to its new holder");
  // Nothing was written for it: no dataset, and its object is the other process's, unfinished.
  assertEquals((await services.sql`SELECT name FROM package ORDER BY name`).map((r) => r.name), ["kept-1", "kept-2"]);
  assertEquals(byGuid.get("handed-on")!.leased_by, "other-host:1:abcd");
  assert(byGuid.get("handed-on")!.state !== "COMPLETE");
});
