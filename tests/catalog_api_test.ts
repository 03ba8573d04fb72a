import { assert, assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { createApp } from "../src/api/mod.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";

type Dict = Record<string, unknown>;

Deno.test("package_create/update/patch/delete, organization_*, group_* and tag_list work for CKAN clients with a token", async () => {
  await using services = await testServices();
  const site = (name: string, input: Dict) =>
    runAction(getAction(name)!, { services, actor: SITE_ACTOR }, input) as Promise<Dict>;
  await site("organization_create", { name: "city", title: "City" });
  await site("organization_create", { name: "other-org" });
  await site("group_create", { name: "transport", title: "Transport" });
  await site("user_create", { name: "ed", password: "long-enough-pw" });
  await site("user_create", { name: "mem" });
  await site("organization_member_create", { id: "city", username: "ed", role: "editor" });
  await site("organization_member_create", { id: "city", username: "mem", role: "member" });
  const edToken = (await site("api_token_create", { user: "ed", name: "t" })).token as string;
  const memToken = (await site("api_token_create", { user: "mem", name: "t" })).token as string;
  const app = createApp(services);
  const call = async (name: string, body: Dict, token?: string) => {
    const res = await app.request(`/api/3/action/${name}`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: token } : {}) },
    });
    return { status: res.status, body: await res.json() as { success: boolean; result: Dict; error: Dict } };
  };
  const dataset = {
    name: "bus-stops",
    title: "Bus stops",
    owner_org: "city",
    notes: "Every stop",
    tags: [{ name: "bus" }, { name: "transport" }],
    groups: [{ name: "transport" }],
    extras: [{ key: "frequency", value: "daily" }],
    resources: [{ url: "https://example.org/stops.csv", format: "CSV", name: "Stops" }],
  };
  assertEquals((await call("package_create", dataset)).status, 403, "anonymous cannot create");
  assertEquals((await call("package_create", dataset, memToken)).status, 403, "a member cannot create");
  assertEquals((await call("package_create", { ...dataset, owner_org: "other-org" }, edToken)).status, 403);
  const created = await call("package_create", dataset, edToken);
  assertEquals(created.status, 200, JSON.stringify(created.body));
  const pkg = created.body.result;
  assertEquals([pkg.name, (pkg.organization as Dict).name, (pkg.groups as Dict[])[0]!.name], [
    "bus-stops",
    "city",
    "transport",
  ]);
  assertEquals((pkg.resources as Dict[])[0]!.format, "CSV");
  const dup = await call("package_create", dataset, edToken);
  assertEquals(dup.status, 409);
  assertEquals(dup.body.error.name, ["That URL is already in use."]);
  const bad = await call(
    "package_create",
    { name: "Bad Name!", owner_org: "nowhere", groups: [{ name: "nope" }] },
    edToken,
  );
  assertEquals(bad.status, 409);
  assert(
    "name" in bad.body.error && "owner_org" in bad.body.error && "groups" in bad.body.error,
    JSON.stringify(bad.body.error),
  );
  const malformed = await call(
    "package_create",
    { name: "odd", title: { x: 1 }, resources: [{ size: "big" }] },
    edToken,
  );
  assertEquals([malformed.status, malformed.body.error["title"], malformed.body.error["resources.0.size"]], [
    409,
    ["expected a string, a number or a boolean"],
    ["expected a number of bytes"],
  ]);

  const patched = await call("package_patch", { id: "bus-stops", title: "Bus stops (2026)" }, edToken);
  assertEquals(patched.body.result.title, "Bus stops (2026)");
  assertEquals((patched.body.result.tags as Dict[]).length, 2, "patch keeps what it does not change");
  const updated = await call(
    "package_update",
    { id: pkg.id, name: "bus-stops", title: "Stops", owner_org: "city" },
    edToken,
  );
  assertEquals(
    [updated.body.result.title, (updated.body.result.tags as Dict[]).length],
    ["Stops", 0],
    "update replaces",
  );

  const orgs = await app.request("/api/3/action/organization_list");
  assertEquals((await orgs.json()).result, ["city", "other-org"]);
  const orgShow = await (await app.request("/api/3/action/organization_show?id=city&include_datasets=true")).json();
  assertEquals([orgShow.result.package_count, orgShow.result.packages.length], [1, 1]);
  const groups = await (await app.request("/api/3/action/group_list?all_fields=true")).json();
  assertEquals(groups.result.map((g: Dict) => [g.name, g.type]), [["transport", "group"]]);
  await call("package_patch", { id: "bus-stops", tags: [{ name: "bus" }, { name: "busway" }] }, edToken);
  const tags = await (await app.request("/api/3/action/tag_list?query=bus")).json();
  assertEquals(tags.result, ["bus", "busway"]);

  assertEquals((await call("package_delete", { id: "bus-stops" }, memToken)).status, 403);
  assertEquals((await call("package_delete", { id: "bus-stops" }, edToken)).status, 200);
  assertEquals((await app.request("/api/3/action/package_show?id=bus-stops")).status, 404);
  const revoked = await site("api_token_revoke", { token: edToken });
  assertEquals(revoked.revoked, true);
  assertEquals(
    (await call("package_create", { ...dataset, name: "again" }, edToken)).status,
    403,
    "a revoked token is refused",
  );
  const shortPw = await call("user_create", { name: "x2", password: "short" });
  assertEquals(shortPw.status, 403);
  try {
    await site("user_create", { name: "x2", password: "short" });
  } catch (error) {
    assertMatch(String(error), /password: Must be at least 8 characters/);
  }
});

Deno.test("package_search counts from the catalog counter without a query, and the counter follows every change", async () => {
  await using services = await testServices();
  const site = (name: string, input: Dict) =>
    runAction(getAction(name)!, { services, actor: SITE_ACTOR }, input) as Promise<Dict>;
  await site("organization_create", { name: "north" });
  await site("organization_create", { name: "south" });
  await site("user_create", { name: "nora" });
  await site("organization_member_create", { id: "north", username: "nora", role: "member" });
  const nora = (await site("api_token_create", { user: "nora", name: "t" })).token as string;
  const app = createApp(services);
  const search = async (params: Dict, token?: string) => {
    const res = await app.request(`/api/3/action/package_search`, {
      method: "POST",
      body: JSON.stringify(params),
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: token } : {}) },
    });
    const body = await res.json() as { result: { count: number; results: Dict[] } };
    return body.result;
  };
  /** What a count over every dataset row says, for the same viewer. */
  const truth = async (opts: { includePrivate?: boolean; drafts?: boolean; orgs?: string[] }) => {
    const [row] = await services.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM package p LEFT JOIN "group" g ON g.id = p.owner_org
      WHERE p.type = 'dataset' AND p.state = ANY(${opts.drafts ? ["active", "draft"] : ["active"]})
        AND (NOT p.private OR (${opts.includePrivate ?? false} AND g.name = ANY(${opts.orgs ?? []})))`;
    return row!.n;
  };
  const check = async (what: string) => {
    assertEquals((await search({ rows: 0 })).count, await truth({}), `${what}: anonymous`);
    assertEquals(
      (await search({ rows: 0, include_private: true }, nora)).count,
      await truth({ includePrivate: true, orgs: ["north"] }),
      `${what}: a member of north, private included`,
    );
    assertEquals(
      (await search({ rows: 0, include_private: true, include_drafts: true }, nora)).count,
      await truth({ includePrivate: true, drafts: true, orgs: ["north"] }),
      `${what}: with drafts`,
    );
    // The page with the count: the newest first, as before.
    const page = await search({ rows: 3 });
    assertEquals(page.count, await truth({}), `${what}: rows=3`);
  };
  for (let i = 0; i < 12; i++) {
    await site("package_create", {
      name: `d${i}`,
      owner_org: i % 2 ? "north" : "south",
      private: i % 3 === 0,
      state: i === 5 ? "draft" : "active",
    });
  }
  await check("created");
  await site("package_patch", { id: "d1", private: true });
  await site("package_patch", { id: "d3", private: false });
  await site("package_patch", { id: "d2", owner_org: "north" });
  await check("made private, public, moved");
  await site("package_delete", { id: "d4" });
  // Rows deleted outright, as clearing a source deletes its datasets.
  await services.sql`DELETE FROM package WHERE name = 'd7'`;
  await check("deleted and purged");
  const names = (await search({ rows: 100 })).results.map((r) => r.name);
  assertEquals(names.length, await truth({}));
});
