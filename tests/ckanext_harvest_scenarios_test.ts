/**
 * ckanext-harvest's own CKAN harvester scenarios (`tests/harvesters/test_ckanharvester.py`) replayed
 * against a port of their own mock remote (tests/fixtures/mock_ckan.ts), with the same expectations.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import type { Services } from "../src/services.ts";
import { DATASETS, GROUPS, serveMockCkan } from "./fixtures/mock_ckan.ts";

type Dict = Record<string, unknown>;
interface Result {
  state: string;
  report_status: string | null;
  errors: string[];
  dataset?: Dict;
}

let sourceCount = 0;

/** The original's `run_harvest`: a source for `url`, one job, and each object's outcome by guid. */
async function runHarvest(services: Services, url: string, config?: Dict, name?: string) {
  const ctx = { services, actor: SITE_ACTOR };
  const act = (action: string, input: Dict) => runAction(getAction(action)!, ctx, input) as Promise<Dict>;
  name ??= `mock-${++sourceCount}`;
  const existing = await getSource(services.sql, name).catch(() => undefined);
  if (!existing) {
    await act("harvest_source_create", {
      name,
      url,
      source_type: "ckan",
      config: config ? JSON.stringify(config) : undefined,
      check_url: false,
    });
  }
  const summary = await runJobInProcess(ctx, await getSource(services.sql, name));
  const objects = await services.sql<
    { guid: string; state: string; report_status: string | null; package_id: string | null; id: string }[]
  >`
    SELECT o.id, o.guid, o.state, o.report_status, o.package_id FROM harvest_object o
    WHERE o.harvest_job_id = ${summary.jobId}`;
  const results = new Map<string, Result>();
  for (const o of objects) {
    const errors = await services.sql<{ message: string }[]>`
      SELECT message FROM harvest_object_error WHERE harvest_object_id = ${o.id}`;
    const result: Result = { state: o.state, report_status: o.report_status, errors: errors.map((e) => e.message) };
    if (o.package_id && o.report_status !== "not modified") {
      result.dataset = await act("package_show", { id: o.package_id });
    }
    results.set(o.guid, result);
  }
  return { results, summary, name, act };
}

async function withMock(fn: (services: Services, mock: ReturnType<typeof serveMockCkan>) => Promise<void>) {
  await using services = await testServices();
  await using mock = serveMockCkan();
  await fn(services, mock);
}

Deno.test("ckanext-harvest scenario test_harvest: both datasets added, error-free", () =>
  withMock(async (services, mock) => {
    const { results, summary } = await runHarvest(services, `${mock.url}/`);
    for (const d of DATASETS) {
      const r = results.get(d.id as string)!;
      assertEquals([r.state, r.report_status, r.errors], ["COMPLETE", "added", []]);
      assertEquals(r.dataset!.name, d.name);
    }
    assertEquals(summary.gatherErrors, []);
  }));

Deno.test("ckanext-harvest scenario test_harvest_twice and test_harvest_not_modified: a changed dataset is updated, the other not modified, even though the mock refuses the id-only listing", () =>
  withMock(async (services, mock) => {
    const first = await runHarvest(services, `${mock.url}/`);
    const again = await runHarvest(services, `${mock.url}/`, undefined, first.name);
    assertEquals(again.results.get(DATASETS[1]!.id as string)!.report_status, "not modified");
    assertEquals(again.summary.gatherErrors, []);
    mock.state.datasets[1]!.metadata_modified = "2050-05-09T22:00:01.486366";
    const twice = await runHarvest(services, `${mock.url}/`, undefined, first.name);
    const r = twice.results.get(DATASETS[1]!.id as string)!;
    assertEquals([r.state, r.report_status, r.errors], ["COMPLETE", "updated", []]);
    assertEquals(r.dataset!.name, DATASETS[1]!.name);
    assertEquals(twice.results.get("dataset1-id")!.report_status, "not modified");
    assertEquals(twice.summary.gatherErrors, [], "the refused fl listing falls back to a full one");
  }));

Deno.test("ckanext-harvest scenarios: organization and group filters, include and exclude", () =>
  withMock(async (services, mock) => {
    const cases: [Dict, boolean][] = [
      [{ organizations_filter_exclude: ["org1"] }, false],
      [{ organizations_filter_include: ["org1"] }, true],
      [{ groups_filter_exclude: ["group1"] }, false],
      [{ groups_filter_include: ["group1"] }, true],
    ];
    for (const [config, dataset1] of cases) {
      const { results } = await runHarvest(services, mock.url, config);
      assertEquals(results.has("dataset1-id"), dataset1, JSON.stringify(config));
      assertEquals(results.has(DATASETS[1]!.id as string), !dataset1, JSON.stringify(config));
    }
  }));

Deno.test("ckanext-harvest scenarios: remote_groups create and only_local; harvest info in package_show extras", () =>
  withMock(async (services, mock) => {
    const created = await runHarvest(services, mock.url, { remote_groups: "create" });
    assert(created.results.has("dataset1-id"));
    const group = await created.act("group_show", { id: GROUPS[0]!.name });
    assertEquals(group.name, "group1");
    const extras = Object.fromEntries(
      (created.results.get("dataset1-id")!.dataset!.extras as Dict[]).map((e) => [e.key, e.value]),
    );
    for (const key of ["harvest_object_id", "harvest_source_id", "harvest_source_title"]) {
      assert(key in extras, `${key} is in the dataset's extras`);
    }
  }));

Deno.test("ckanext-harvest scenarios: only_local maps an existing group and creates none", () =>
  withMock(async (services, mock) => {
    const ctx = { services, actor: SITE_ACTOR };
    await runAction(getAction("group_create")!, ctx, { name: "group1" });
    const { results, act } = await runHarvest(services, mock.url, { remote_groups: "only_local" });
    assertEquals(((results.get("dataset1-id")!.dataset!.groups as Dict[])[0]!).name, "group1");
    const missing = await act("group_show", { id: "remote-group" }).then(() => "found", (e: Error) => e.name);
    assertEquals(missing, "NotFoundError");
  }));

Deno.test("ckanext-harvest scenario test_harvest_whilst_datasets_added: a dataset pushed onto the next page is still harvested", () =>
  withMock(async (services, mock) => {
    const { results } = await runHarvest(services, `${mock.url}/datasets_added`);
    assertEquals([...results.keys()].sort(), [DATASETS[1]!.id, DATASETS[0]!.id].sort());
  }));

Deno.test("ckanext-harvest scenario test_harvest_site_down: no objects, a gather error, not error-free", () =>
  withMock(async (services, mock) => {
    const { results, summary } = await runHarvest(services, `${mock.url}/site_down`);
    assertEquals(results.size, 0);
    assertEquals(summary.gatherErrors.length, 1);
    assertMatch(summary.gatherErrors[0]!, /Unable to search remote CKAN for datasets/);
  }));

Deno.test("ckanext-harvest scenarios: default_tags, default_groups and default_extras, and their invalid forms", () =>
  withMock(async (services, mock) => {
    const ctx = { services, actor: SITE_ACTOR };
    const tags = await runHarvest(services, mock.url, { default_tags: [{ name: "geo" }] });
    assert((tags.results.get("dataset1-id")!.dataset!.tags as Dict[]).some((t) => t.name === "geo"));
    for (const name of ["group2", "group3"]) await runAction(getAction("group_create")!, ctx, { name });
    const groups = await runHarvest(services, mock.url, {
      default_groups: ["group2", "group3"],
      remote_groups: "only_local",
    });
    assertEquals(groups.results.get("dataset1-id")!.errors, []);
    const names = new Set((groups.results.get("dataset1-id")!.dataset!.groups as Dict[]).map((g) => g.name));
    assert(names.has("group2") && names.has("group3"), [...names].join(","));
    const extras = await runHarvest(services, mock.url, {
      default_extras: { encoding: "utf8", harvest_url: "{harvest_source_url}/dataset/{dataset_id}" },
    });
    const dict = Object.fromEntries(
      (extras.results.get("dataset1-id")!.dataset!.extras as Dict[]).map((e) => [e.key, e.value]),
    );
    assertEquals(dict.encoding, "utf8");
    assertEquals(dict.harvest_url, `${mock.url}/dataset/dataset1-id`);
    const invalid: [Dict, RegExp][] = [
      [{ default_tags: ["geo"] }, /default_tags must be a list of dictionaries/],
      [{ default_groups: [{ name: "group2" }] }, /default_groups must be a list of group names\/ids/],
      [{ default_extras: "utf8" }, /default_extras must be a dictionary/],
    ];
    for (const [config, message] of invalid) {
      const error = await runHarvest(services, mock.url, config).then(() => undefined, (e: Error) => e);
      assert(error, `${JSON.stringify(config)} is refused`);
      assertMatch(error.message, message);
    }
  }));
