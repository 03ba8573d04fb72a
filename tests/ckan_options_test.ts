import { assert, assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { ckanHarvester } from "../src/harvesters/ckan/mod.ts";
import type { Services } from "../src/services.ts";

type Dict = Record<string, unknown>;

async function harness(env: Record<string, string> = {}, catalog = sampleCatalog({ count: 12, seed: 5 })) {
  const services = await testServices(env);
  const remote = serveCkanCatalog(catalog, {});
  const ctx = { services, actor: SITE_ACTOR };
  const act = (name: string, input: Dict) => runAction(getAction(name)!, ctx, input) as Promise<Dict>;
  let n = 0;
  const harvest = async (config: Dict | string, options: { type?: string; url?: string } = {}) => {
    const name = `opt-${++n}`;
    await act("harvest_source_create", {
      name,
      url: options.url ?? `${remote.url}/`,
      source_type: options.type ?? "ckan",
      config: typeof config === "string" ? config : JSON.stringify(config),
      check_url: false,
    });
    const summary = await runJobInProcess(ctx, await getSource(services.sql, name));
    return { name, summary };
  };
  const show = (id: string) => act("package_show", { id });
  const first = remote.catalog.datasets[0]!;
  const close = async () => {
    await remote.close();
    await services.close();
  };
  return { services, remote, act, harvest, show, first, close };
}

async function configError(services: Services, config: Dict | string): Promise<string> {
  try {
    await runAction(getAction("harvest_source_create")!, { services, actor: SITE_ACTOR }, {
      name: `bad-${crypto.randomUUID().slice(0, 6)}`,
      url: `http://127.0.0.1:1/${crypto.randomUUID()}`,
      source_type: "ckan",
      config: typeof config === "string" ? config : JSON.stringify(config),
      check_url: false,
    });
  } catch (error) {
    return String((error as Error).message);
  }
  return "";
}

Deno.test("ckan config validation gives the original's messages", async () => {
  const h = await harness();
  try {
    const cases: [Dict | string, RegExp][] = [
      ["{not json", /Error parsing the configuration options: Not valid JSON/],
      [{ api_version: "two" }, /api_version must be an integer/],
      [{ default_tags: "geo" }, /default_tags must be a list$/],
      [{ default_tags: ["geo"] }, /default_tags must be a list of dictionaries/],
      [{ default_groups: "g" }, /default_groups must be a \*list\* of group names\/ids/],
      [{ default_groups: [1] }, /default_groups must be a list of group names\/ids \(i\.e\. strings\)/],
      [{ default_groups: ["no-such-group"] }, /Default group not found: no-such-group/],
      [{ default_extras: ["x"] }, /default_extras must be a dictionary/],
      [
        { organizations_filter_include: ["a"], organizations_filter_exclude: ["b"] },
        /cannot contain both organizations_filter_include and organizations_filter_exclude/,
      ],
      [
        { groups_filter_include: ["a"], groups_filter_exclude: ["b"] },
        /cannot contain both groups_filter_include and groups_filter_exclude/,
      ],
      [{ user: "nobody" }, /User not found: nobody/],
      [{ read_only: "yes" }, /read_only must be boolean/],
      [{ force_all: 1 }, /force_all must be boolean/],
      [{ remote_groups: "all" }, /remote_groups must be "only_local" or "create"/],
      [{ remote_orgs: "all" }, /remote_orgs must be "only_local" or "create"/],
      [{ clean_tags: "true" }, /clean_tags must be boolean/],
      [{ delete_threshold: 150 }, /delete_threshold must be a number of percent from 0 to 100/],
    ];
    for (const [config, message] of cases) assertMatch(await configError(h.services, config), message);
    await h.act("user_create", { name: "harvester-user" });
    assertEquals(await configError(h.services, { user: "harvester-user", read_only: true, api_version: 2 }), "");
  } finally {
    await h.close();
  }
});

Deno.test("default_tags, default_groups, clean_tags and default_extras with every placeholder shape each dataset", async () => {
  const h = await harness();
  try {
    await h.act("group_create", { name: "harvested", title: "Harvested" });
    const { name, summary } = await h.harvest({
      default_tags: [{ name: "Imported Data!" }],
      clean_tags: true,
      default_groups: ["harvested"],
      default_extras: {
        origin: "{harvest_source_title} at {harvest_source_url}",
        ids: "{dataset_id}|{harvest_source_id}|{harvest_job_id}|{harvest_object_id}",
        spatial_coverage: "overridden?",
      },
    });
    assertEquals(summary.stats.added, 12);
    const pkg = await h.show(h.first.id as string);
    assert((pkg.tags as Dict[]).some((t) => t.name === "imported-data"), "default tag added, then cleaned");
    assertEquals((pkg.groups as Dict[]).map((g) => g.name), ["harvested"], "remote groups dropped by default");
    const extras = Object.fromEntries((pkg.extras as Dict[]).map((e) => [e.key, e.value]));
    const source = await h.act("harvest_source_show", { id: name });
    assertEquals(extras.origin, `${name} at ${h.remote.url.replace(/^\/+|\/+$/g, "")}`);
    assertEquals(extras.ids, `${h.first.id}|${source.id}|${summary.jobId}|${pkg.harvest_object_id}`);
    assertEquals(extras.spatial_coverage, (h.first.extras as Dict[])[0]!.value, "existing extras are kept");

    const { summary: s2 } = await h.harvest(
      { default_extras: { spatial_coverage: "Everywhere" }, override_extras: true },
      { url: `${h.remote.url}//` },
    );
    assertEquals(s2.stats.added, 12);
    const overridden = await h.services.sql<{ value: string }[]>`
      SELECT e.value FROM package_extra e JOIN harvest_object o ON o.package_id = e.package_id AND o.current
      JOIN harvest_source s ON s.id = o.harvest_source_id WHERE s.name = 'opt-2' AND e.key = 'spatial_coverage'`;
    assert(overridden.length === 12 && overridden.every((r) => r.value === "Everywhere"));

    const { summary: s3 } = await h.harvest({ default_extras: { bad: "{not_a_placeholder}" } }, {
      url: `${h.remote.url}///`,
    });
    assertEquals(s3.stats.errored, 12);
    const [err] = await h.services.sql<{ message: string }[]>`SELECT message FROM harvest_object_error LIMIT 1`;
    assertMatch(err!.message, /Unknown placeholder \{not_a_placeholder\} in default_extras/);
  } finally {
    await h.close();
  }
});

Deno.test("remote_orgs and remote_groups: dropped by default, only_local maps existing ones, create makes them", async () => {
  const h = await harness();
  try {
    const firstOrg = (h.first.organization as Dict).name as string;
    const firstGroup = (h.first.groups as Dict[])[0]!.name as string;
    await h.act("organization_create", { name: "source-owner" });
    await h.act("organization_create", { name: firstOrg });
    await h.act("group_create", { name: firstGroup });
    const urls = [`${h.remote.url}/a`, `${h.remote.url}/b`, `${h.remote.url}/c`];
    await h.act("harvest_source_create", {
      name: "owned",
      url: urls[0],
      source_type: "ckan",
      owner_org: "source-owner",
      check_url: false,
    });
    // Default: the source's organization, no groups.
    await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, await getSource(h.services.sql, "owned"));
    const plain = await h.show(h.first.id as string);
    assertEquals((plain.organization as Dict).name, "source-owner");
    assertEquals(plain.groups, []);
    // An organization's source writes only into its organization: remote_orgs/remote_groups are refused.
    const refused = await h.act("harvest_source_patch", {
      id: "owned",
      config: { remote_orgs: "only_local", remote_groups: "only_local" },
    }).then(() => undefined, (e: Error) => e.message);
    assertMatch(refused ?? "", /remote_orgs "only_local" would place datasets outside the source's organization/);
    // only_local, on a source without an organization (sysadmins'): mapped where a local one exists.
    await h.act("harvest_source_clear", { id: "owned" });
    await h.act("harvest_source_create", {
      name: "site-wide",
      url: urls[1],
      source_type: "ckan",
      config: JSON.stringify({ remote_orgs: "only_local", remote_groups: "only_local" }),
      check_url: false,
    });
    await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, await getSource(h.services.sql, "site-wide"));
    const mapped = await h.show(h.first.id as string);
    assertEquals((mapped.organization as Dict).name, firstOrg);
    assertEquals((mapped.groups as Dict[]).map((g) => g.name), [firstGroup]);
    const other = h.remote.catalog.datasets.find((d) => (d.organization as Dict).name !== firstOrg)!;
    assertEquals((await h.show(other.id as string)).organization, null, "no local organization: none");
    const [before] = await h.services.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM "group"`;
    assertEquals(before!.n, 3, "only_local creates nothing");
    // create: every remote organization and group exists locally afterwards.
    await h.act("harvest_source_patch", {
      id: "site-wide",
      config: { remote_orgs: "create", remote_groups: "create" },
    });
    await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, await getSource(h.services.sql, "site-wide"));
    const made = await h.show(other.id as string);
    assertEquals((made.organization as Dict).name, (other.organization as Dict).name);
    assertEquals((made.organization as Dict).title, (other.organization as Dict).title);
    const orgNames = new Set(h.remote.catalog.datasets.map((d) => (d.organization as Dict).name));
    const [orgs] = await h.services.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM "group" WHERE is_organization`;
    assertEquals(orgs!.n, orgNames.size + 1);
    void urls;
  } finally {
    await h.close();
  }
});

Deno.test("organization and group filters select remote datasets; api_key and user_agent are sent", async () => {
  const catalog = sampleCatalog({ count: 40, seed: 6 });
  const h = await harness({}, catalog);
  try {
    const orgs = [...new Set(catalog.datasets.map((d) => (d.organization as Dict).name as string))];
    const count = (pred: (d: Dict) => boolean) => catalog.datasets.filter(pred).length;
    const orgOf = (d: Dict) => (d.organization as Dict).name as string;
    const groupOf = (d: Dict) => (d.groups as Dict[])[0]!.name as string;
    const include = await h.harvest({ organizations_filter_include: orgs.slice(0, 2) }, { url: `${h.remote.url}/1` });
    assertEquals(include.summary.stats.added, count((d) => orgs.slice(0, 2).includes(orgOf(d))));
    const exclude = await h.harvest({ organizations_filter_exclude: [orgs[0]!] }, { url: `${h.remote.url}/2` });
    assertEquals(exclude.summary.stats.added, count((d) => orgOf(d) !== orgs[0]));
    const group = groupOf(catalog.datasets[0]!);
    const gIn = await h.harvest({ groups_filter_include: [group] }, { url: `${h.remote.url}/3` });
    assertEquals(gIn.summary.stats.added, count((d) => groupOf(d) === group));
    const gOut = await h.harvest({ groups_filter_exclude: [group] }, { url: `${h.remote.url}/4` });
    assertEquals(gOut.summary.stats.added, count((d) => groupOf(d) !== group));
    const fq = h.remote.requests.find((r) => r.path.endsWith("package_search") && r.params.get("fq")?.includes(" OR "));
    assertMatch(
      fq!.params.get("fq")!,
      /^\(organization:[\w-]+ OR organization:[\w-]+\)$/,
      "include lists are bracketed",
    );
  } finally {
    await h.close();
  }
  const secured = await harness();
  const guarded = serveCkanCatalog(sampleCatalog({ count: 3 }), { requireApiKey: "secret-123" });
  try {
    const denied = await secured.harvest({}, { url: guarded.url });
    assertEquals(denied.summary.stats.added, 0);
    assertMatch(denied.summary.gatherErrors[0]!, /HTTP error: 403/);
    const allowed = await secured.harvest({ api_key: "secret-123", user_agent: "my-harvester/1.0" }, {
      url: `${guarded.url}/`,
    });
    assertEquals(allowed.summary.stats.added, 3);
    const last = guarded.requests.at(-1)!;
    assertEquals(last.headers.get("authorization"), "secret-123");
    assertEquals(last.headers.get("user-agent"), "my-harvester/1.0");
    assertMatch(guarded.requests[0]!.headers.get("user-agent")!, /^ckan-harvest-ts\//);
  } finally {
    await guarded.close();
    await secured.close();
  }
});

Deno.test("incremental harvests filter on metadata_modified unless force_all; name append; not_overwrite_fields", async () => {
  const h = await harness({
    CKAN__HARVEST__NOT_OVERWRITE_FIELDS: "notes",
    CKANEXT__HARVEST__DEFAULT_DATASET_NAME_APPEND: "random-hex",
  });
  try {
    const { name } = await h.harvest({});
    const since = () => h.remote.requests.filter((r) => r.params.get("fq")?.includes("metadata_modified")).length;
    await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, await getSource(h.services.sql, name));
    assertEquals(since(), 1, "the second run asked only for datasets modified since the first");
    await h.act("harvest_source_patch", { id: name, config: { force_all: true } });
    await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, await getSource(h.services.sql, name));
    await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, await getSource(h.services.sql, name));
    assertEquals(since(), 1, "force_all harvests in full");
    // not_overwrite_fields keeps the local notes on update.
    await h.services.sql`UPDATE package SET notes = 'Local notes' WHERE id = ${h.first.id as string}`;
    h.first.title = "Remote title changed";
    h.first.notes = "Remote notes changed";
    await runJobInProcess({ services: h.services, actor: SITE_ACTOR }, await getSource(h.services.sql, name));
    const pkg = await h.show(h.first.id as string);
    assertEquals([pkg.title, pkg.notes], ["Remote title changed", "Local notes"]);
    // random-hex: a second source with the same datasets gets hex-suffixed names.
    await h.harvest({}, { url: `${h.remote.url}/again` });
    const [other] = await h.services.sql<{ name: string }[]>`
      SELECT p.name FROM package p JOIN harvest_object o ON o.package_id = p.id AND o.current
      JOIN harvest_source s ON s.id = o.harvest_source_id WHERE s.name = 'opt-2' AND o.guid = ${h.first.id as string}`;
    assertMatch(other!.name, new RegExp(`^${h.first.name}[0-9a-f]{5}$`), "two sources keep two datasets");
  } finally {
    await h.close();
  }
});

Deno.test("modifyPackageDict lets a harvester that extends the CKAN one change each dataset", async () => {
  const h = await harness();
  try {
    h.services.harvesters.register(ckanHarvester({
      name: "ckan_extended",
      title: "Extended CKAN",
      modifyPackageDict: (pkg, object) => ({
        ...pkg,
        title: `[mirror] ${pkg.title}`,
        version: object.guid.slice(0, 4),
      }),
    }));
    const { summary } = await h.harvest({}, { type: "ckan_extended" });
    assertEquals(summary.stats.added, 12);
    const pkg = await h.show(h.first.id as string);
    assertEquals(pkg.title, `[mirror] ${h.first.title}`);
    assertEquals(pkg.version, (h.first.id as string).slice(0, 4));
  } finally {
    await h.close();
  }
});
