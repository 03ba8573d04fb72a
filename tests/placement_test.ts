/**
 * An organization's editor writes only where they may: a source of organization A puts datasets into
 * A alone, creates no organization or group, and uses only groups its saver may add datasets to;
 * checked when the config is saved and again at import, whatever the stored config says.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { type Actor, getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import type { Services } from "../src/services.ts";

type Dict = Record<string, unknown>;

async function world(services: Services) {
  const site = { services, actor: SITE_ACTOR };
  const act = (actor: Actor, name: string, input: Dict) => runAction(getAction(name)!, { services, actor }, input);
  await act(SITE_ACTOR, "organization_create", { name: "org-a" });
  await act(SITE_ACTOR, "organization_create", { name: "org-b" });
  await act(SITE_ACTOR, "group_create", { name: "sysadmins-only" });
  const user = await runAction(getAction("user_create")!, site, { name: "editor-a", password: "password-a1" }) as Dict;
  await act(SITE_ACTOR, "organization_member_create", { id: "org-a", username: "editor-a", role: "editor" });
  const editor: Actor = { kind: "user", id: user.id as string, name: "editor-a", sysadmin: false };
  const counts = async () => {
    const [r] = await services.sql<{ orgs: number; groups: number; inB: number; grouped: number }[]>`
      SELECT (SELECT count(*)::int FROM "group" WHERE is_organization) AS orgs,
        (SELECT count(*)::int FROM "group" WHERE NOT is_organization) AS groups,
        (SELECT count(*)::int FROM package p JOIN "group" g ON g.id = p.owner_org WHERE g.name = 'org-b') AS "inB",
        (SELECT count(*)::int FROM package_group) AS grouped`;
    return r!;
  };
  return { act, editor, counts };
}

Deno.test("an organization's editor cannot save remote_orgs, remote_groups or a foreign default group on its source", async () => {
  await using services = await testServices();
  const { act, editor } = await world(services);
  const attempts: [Dict, RegExp][] = [
    [{ remote_orgs: "create" }, /remote_orgs "create" would place datasets outside the source's organization/],
    [{ remote_groups: "create" }, /remote_groups "create" would place datasets outside/],
    [{ remote_orgs: "only_local" }, /remote_orgs "only_local" would place datasets outside/],
    [{ default_groups: ["sysadmins-only"] }, /default_groups: you may not add datasets to the group sysadmins-only/],
  ];
  for (const [config, message] of attempts) {
    const error = await act(editor, "harvest_source_create", {
      name: `try-${crypto.randomUUID().slice(0, 6)}`,
      url: `http://127.0.0.1:9/${crypto.randomUUID()}`,
      source_type: "ckan",
      owner_org: "org-a",
      config: JSON.stringify(config),
      check_url: false,
    }).then(() => undefined, (e: Error) => e);
    assert(error, `${JSON.stringify(config)} was accepted`);
    assertEquals(error.name, "ValidationError");
    assertMatch(error.message, message);
  }
  const [n] = await services.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM harvest_source`;
  assertEquals(n!.n, 0, "nothing was stored");
  // A sysadmin's source without an organization may map and create, as the original's users expect.
  await act(SITE_ACTOR, "harvest_source_create", {
    name: "site-wide",
    url: "http://127.0.0.1:9/site",
    source_type: "ckan",
    config: JSON.stringify({ remote_orgs: "create", remote_groups: "create" }),
    check_url: false,
  });
  // Moving it into an organization with that config is refused too.
  const moved = await act(SITE_ACTOR, "harvest_source_patch", { id: "site-wide", owner_org: "org-a" })
    .then(() => undefined, (e: Error) => e.message);
  assertMatch(moved ?? "", /would place datasets outside the source's organization/);
});

Deno.test("at import, a source of organization A writes only into A and creates nothing, even with a stored config that says otherwise", async () => {
  await using services = await testServices();
  const { act, editor, counts } = await world(services);
  await using remote = serveCkanCatalog(sampleCatalog({ count: 30, seed: 6 }));
  // The remote's datasets name org-b and the sysadmin-only group: an open invitation to write there.
  for (const d of remote.catalog.datasets) {
    d.organization = { ...(d.organization as Dict), name: "org-b", id: "org-b-remote-id" };
    d.owner_org = "org-b-remote-id";
    d.groups = [{ name: "sysadmins-only" }, { name: "brand-new-group" }];
  }
  await act(editor, "harvest_source_create", {
    name: "of-a",
    url: remote.url,
    source_type: "ckan",
    owner_org: "org-a",
    check_url: false,
  });
  // A config stored before the rule (or written behind the API's back) is not followed either.
  await services.sql`UPDATE harvest_source SET config = ${
    JSON.stringify({ remote_orgs: "create", remote_groups: "create", default_groups: ["sysadmins-only"] })
  } WHERE name = 'of-a'`;
  const before = await counts();
  const summary = await runJobInProcess({ services, actor: SITE_ACTOR }, await getSource(services.sql, "of-a"));
  assertEquals(summary.stats.added, 30, JSON.stringify(summary));
  const after = await counts();
  assertEquals(after.inB, 0, "no dataset in org B");
  assertEquals([after.orgs, after.groups], [before.orgs, before.groups], "no organization or group created");
  const [inA] = await services.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM package p JOIN "group" g ON g.id = p.owner_org WHERE g.name = 'org-a'`;
  assertEquals(inA!.n, 30, "every dataset is in the source's organization");
  assertEquals(after.grouped, 30, "only the group the stored config names, which a sysadmin put there");
});
