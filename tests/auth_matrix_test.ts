/**
 * The authorization matrix: reads every action's declared access rule (src/actions/access.ts, the
 * same declarations the README's "Who may call what" table is printed from) and calls every action as
 * every role, on a public and on a private source of organization A, each call on fresh records so
 * that one allowed deletion does not decide the next call.
 */
import { assert, assertEquals } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { createApp } from "../src/api/mod.ts";
import { ACTIONS, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import type { Services } from "../src/services.ts";
import { RESULTS } from "../src/api/openapi.ts";
import { planSource } from "../src/harvest/plan.ts";
import { getSource } from "../src/harvest/sources.ts";

import { type Cell as Rule, type Role, ROLES } from "../src/actions/access.ts";
import { accessTable } from "../scripts/docs.ts";

/** Each action's declared access row. */
function declaredMatrix(): Map<string, Record<Role, Rule>> {
  return new Map([...ACTIONS].map(([name, action]) => [name, action.access.row]));
}

/** The table under "### Who may call what" in the README. */
function readMatrix(): Map<string, Record<Role, Rule>> {
  const readme = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
  const section = readme.split("### Who may call what")[1]!.split("\n## ")[0]!;
  const out = new Map<string, Record<Role, Rule>>();
  for (const line of section.split("\n")) {
    const m = line.match(/^\|\s*`([a-z_]+)`\s*\|(.*)\|\s*$/);
    if (!m) continue;
    const cells = m[2]!.split("|").map((c) => c.trim());
    assertEquals(cells.length, ROLES.length, `README row for ${m[1]} has ${cells.length} cells`);
    out.set(m[1]!, Object.fromEntries(ROLES.map((r, i) => [r, cells[i] as Rule])) as Record<Role, Rule>);
  }
  return out;
}

interface Fixture {
  sourceId: string;
  sourceName: string;
  jobId: string;
  newJobId: string | undefined;
  objectId: string;
  packageId: string;
  packageName: string;
  guid: string;
  /** A stored preview of the source, for the plan actions. */
  planId: string | undefined;
}

let counter = 0;

/** A fresh source of organization A with a finished job, a current object, its dataset and a pending deletion. */
async function makeFixture(
  services: Services,
  orgA: string,
  isPrivate: boolean,
  newJob: boolean,
  plan = false,
): Promise<Fixture> {
  const { sql } = services;
  const n = ++counter;
  const f: Fixture = {
    sourceId: crypto.randomUUID(),
    sourceName: `src-${n}`,
    jobId: crypto.randomUUID(),
    newJobId: newJob ? crypto.randomUUID() : undefined,
    objectId: crypto.randomUUID(),
    packageId: crypto.randomUUID(),
    packageName: `pkg-${n}`,
    guid: `guid-${n}`,
    planId: undefined,
  };
  await sql`INSERT INTO harvest_source (id, name, title, url, url_normalized, type, config, owner_org, private)
    VALUES (${f.sourceId}, ${f.sourceName}, ${"Source " + n}, ${"http://127.0.0.1:9/" + n}, ${"127.0.0.1:9/" + n},
      'ckan', '{"api_key": "s3cret-key"}', ${orgA}, ${isPrivate})`;
  await sql`INSERT INTO harvest_job (id, source_id, status, gather_started, gather_finished, finished)
    VALUES (${f.jobId}, ${f.sourceId}, 'Finished', now(), now(), now())`;
  if (f.newJobId) {
    await sql`INSERT INTO harvest_job (id, source_id, status) VALUES (${f.newJobId}, ${f.sourceId}, 'New')`;
  }
  await sql`INSERT INTO package (id, name, title, owner_org, private)
    VALUES (${f.packageId}, ${f.packageName}, ${"Dataset " + n}, ${orgA}, ${isPrivate})`;
  await sql`INSERT INTO harvest_object (id, guid, current, content, state, report_status, harvest_job_id,
      harvest_source_id, package_id)
    VALUES (${f.objectId}, ${f.guid}, true, '{"id": "x"}', 'COMPLETE', 'added', ${f.jobId}, ${f.sourceId},
      ${f.packageId})`;
  await sql`INSERT INTO harvest_object_error (id, harvest_object_id, message, stage)
    VALUES (${crypto.randomUUID()}, ${f.objectId}, 'a warning', 'Import')`;
  await sql`INSERT INTO harvest_pending_deletion (id, source_id, job_id, guid, package_id, reason)
    VALUES (${crypto.randomUUID()}, ${f.sourceId}, ${f.jobId}, ${f.guid}, ${f.packageId}, 'test')`;
  // A real preview (the remote does not answer), so applying it finds nothing changed.
  if (plan) f.planId = (await planSource(services, await getSource(sql, f.sourceId), null)).id;
  return f;
}

interface Call {
  /** The user an "own" action is about. */
  user: string;
}

/** The input of each action for one fixture; `user` is whose account an account action is about. */
function inputFor(name: string, f: Fixture, call: Call, orgA: string): Record<string, unknown> {
  const n = ++counter;
  const inputs: Record<string, Record<string, unknown>> = {
    harvest_source_create: {
      name: `new-${n}`,
      url: `http://127.0.0.1:9/new-${n}`,
      source_type: "ckan",
      owner_org: orgA,
      check_url: false,
    },
    harvest_source_show: { id: f.sourceName },
    harvest_source_show_status: { id: f.sourceId },
    harvest_status_show: {},
    harvest_source_list: {},
    harvest_source_search: { q: "src" },
    harvest_source_detect: { url: "http://127.0.0.1:9/catalog" },
    harvest_source_update: {
      id: f.sourceId,
      name: f.sourceName,
      url: `http://127.0.0.1:9/u${n}`,
      source_type: "ckan",
      check_url: false,
    },
    harvest_source_patch: { id: f.sourceId, title: "Patched" },
    harvest_source_delete: { id: f.sourceId },
    harvest_source_clear: { id: f.sourceId },
    harvest_source_job_history_clear: { id: f.sourceId },
    harvest_sources_job_history_clear: {},
    harvest_source_reindex: { id: f.sourceId },
    harvest_sources_reindex: {},
    harvest_source_pending_deletions: { id: f.sourceId },
    harvest_source_deletions_approve: { id: f.sourceId, guids: [f.guid] },
    harvest_source_deletions_reject: { id: f.sourceId, guids: [f.guid] },
    harvesters_info_show: {},
    harvest_job_create: { source_id: f.sourceId, run: false },
    harvest_send_job_to_gather_queue: { id: f.newJobId },
    harvest_job_show: { id: f.jobId },
    harvest_job_report: { id: f.jobId },
    harvest_job_list: { source_id: f.sourceId },
    harvest_job_abort: { id: f.jobId },
    harvest_job_create_all: { run: false },
    harvest_jobs_run: { source_id: f.sourceId },
    harvest_abort_failed_jobs: {},
    harvest_objects_import: { harvest_object_id: f.objectId },
    harvest_source_run_test: { id: f.sourceId },
    harvest_source_plan: { id: f.sourceId },
    harvest_plan_show: { id: f.planId },
    harvest_plan_list: { id: f.sourceId },
    harvest_plan_apply: { id: f.planId },
    harvest_source_datasets: { id: f.sourceName, q: "Dataset" },
    harvest_object_create: { job_id: f.jobId, guid: `obj-${n}`, content: "{}" },
    harvest_object_show: { id: f.objectId },
    harvest_dataset_history: { id: f.packageName },
    harvest_object_list: { source_id: f.sourceId },
    harvest_log_list: {},
    harvest_queues_purge: {},
    harvest_log_clean: {},
    harvest_history_trim: {},
    harvest_get_notifications_recipients: { source_id: f.sourceId },
    package_show: { id: f.packageName },
    package_list: {},
    package_search: { q: "Dataset" },
    package_create: { name: `made-${n}`, owner_org: orgA },
    package_update: { id: f.packageId, name: f.packageName, title: "Updated", owner_org: orgA },
    package_patch: { id: f.packageId, title: "Patched" },
    package_delete: { id: f.packageId },
    organization_list: {},
    organization_show: { id: orgA },
    group_list: {},
    group_show: { id: "grp" },
    tag_list: {},
    status_show: {},
    help_show: { name: "package_show" },
    user_create: { name: `user-${n}` },
    user_list: {},
    user_show: { id: call.user },
    api_token_create: { user: call.user, name: `t${n}` },
    api_token_list: { user: call.user },
    api_token_revoke: { jti: `token-of:${call.user}` },
    organization_create: { name: `org-${n}` },
    group_create: { name: `group-${n}` },
    organization_member_create: { id: orgA, username: "nobody", role: "member" },
    organization_member_delete: { id: orgA, username: "leaver" },
  };
  const input = inputs[name];
  if (!input) throw new Error(`No input for ${name}: add it to the matrix test`);
  return input;
}

Deno.test("every action allows and refuses each role exactly as the README's table says", async () => {
  await using services = await testServices();
  const site = { services, actor: SITE_ACTOR };
  const act = (name: string, input: unknown) => runAction(ACTIONS.get(name)!, site, input);
  const app = createApp(services);
  const orgA = ((await act("organization_create", { name: "org-a" })) as { id: string }).id;
  await act("organization_create", { name: "org-b" });
  await act("group_create", { name: "grp" });

  const users: Record<Exclude<Role, "anonymous">, string> = {
    member: "u-member",
    editor: "u-editor",
    admin: "u-admin",
    "other-org admin": "u-other",
    sysadmin: "u-sys",
  };
  const tokens: Partial<Record<Role, string>> = {};
  for (const [role, name] of Object.entries(users)) {
    await act("user_create", { name, email: `${name}@example.org`, sysadmin: role === "sysadmin" });
    tokens[role as Role] = ((await act("api_token_create", { user: name, name: "matrix" })) as { token: string }).token;
  }
  await act("organization_member_create", { id: "org-a", username: "u-member", role: "member" });
  await act("organization_member_create", { id: "org-a", username: "u-editor", role: "editor" });
  await act("organization_member_create", { id: "org-a", username: "u-admin", role: "admin" });
  await act("organization_member_create", { id: "org-b", username: "u-other", role: "admin" });
  await act("user_create", { name: "nobody" });
  await act("user_create", { name: "leaver" });
  await act("user_create", { name: "someone-else", email: "else@example.org" });

  const matrix = declaredMatrix();
  assertEquals([...readMatrix().keys()].sort(), [...ACTIONS.keys()].sort(), "the README table lists every action once");
  assertEquals(readMatrix(), matrix, "the README table is the declarations' (run `deno task docs`)");
  assert(
    Deno.readTextFileSync(new URL("../README.md", import.meta.url)).includes(accessTable()),
    "the README table is printed from the declarations: run `deno task docs`",
  );

  /** A token of `user` for api_token_revoke; its id stands in for the placeholder. */
  const tokenIdOf = async (user: string) =>
    ((await act("api_token_create", { user, name: "to-revoke" })) as { id: string }).id;

  /** Calls every action of `matrix` as every role; every difference from the table is a failure. */
  const check = async (matrix: Map<string, Record<Role, Rule>>) => {
    const failures: string[] = [];
    let calls = 0;
    for (const [name, rules] of matrix) {
      for (const role of ROLES) {
        const rule = rules[role];
        const cases: { isPrivate: boolean; user: string; expect: boolean }[] = [];
        const own = role === "anonymous" ? "someone-else" : users[role];
        if (rule === "public") {
          cases.push({ isPrivate: false, user: own, expect: true }, { isPrivate: true, user: own, expect: false });
        } else if (rule === "own") {
          cases.push({ isPrivate: true, user: own, expect: true }, {
            isPrivate: true,
            user: "someone-else",
            expect: false,
          });
        } else {
          for (const isPrivate of [false, true]) cases.push({ isPrivate, user: own, expect: rule === "yes" });
        }
        for (const c of cases) {
          // A cross-source action on a fresh fixture must not meet the leftovers of earlier calls.
          await services.sql`UPDATE harvest_job SET status = 'Finished' WHERE status IN ('New', 'Running')`;
          const f = await makeFixture(
            services,
            orgA,
            c.isPrivate,
            name === "harvest_send_job_to_gather_queue",
            name === "harvest_plan_show" || name === "harvest_plan_apply",
          );
          if (name === "organization_member_delete") {
            await act("organization_member_create", { id: "org-a", username: "leaver", role: "member" });
          }
          const input = inputFor(name, f, { user: c.user }, orgA);
          if (name === "api_token_revoke") input.jti = await tokenIdOf(c.user);
          const action = ACTIONS.get(name)!;
          const token = tokens[role];
          const res = await app.request(
            action.sideEffectFree
              ? `/api/3/action/${name}?${new URLSearchParams(input as Record<string, string>)}`
              : `/api/3/action/${name}`,
            {
              method: action.sideEffectFree ? "GET" : "POST",
              headers: { "Content-Type": "application/json", ...(token ? { Authorization: token } : {}) },
              body: action.sideEffectFree ? undefined : JSON.stringify(input),
            },
          );
          calls++;
          const body = await res.json();
          const allowed = res.status === 200;
          const refused = res.status === 403 || res.status === 404;
          const where = `${name} as ${role} (${c.isPrivate ? "private" : "public"}, user ${c.user})`;
          if (!allowed && !refused) failures.push(`${where}: HTTP ${res.status} ${JSON.stringify(body.error)}`);
          else if (allowed !== c.expect) {
            // Both ways: a role the table says "no" that gets a 200 is as wrong as a "yes" that is refused.
            failures.push(`${where}: expected ${c.expect ? "allowed" : "refused"}, got HTTP ${res.status}`);
          }
          if (allowed) {
            // The result matches the shape the OpenAPI document promises.
            const shape = RESULTS[name]?.safeParse(body.result);
            if (!shape?.success) {
              const issues = shape?.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
              failures.push(`${where}: result does not match its documented shape: ${issues}`);
            }
          }
        }
      }
    }
    return { failures, calls };
  };

  const { failures, calls } = await check(matrix);
  assertEquals(failures, [], `${failures.length} of ${calls} calls differ from the README`);
  assert(calls > 600, `only ${calls} calls`);

  // The check can fail both ways: one expectation flipped each way is reported.
  const rules = matrix.get("harvest_source_delete")!;
  const tooOpen = await check(new Map([["harvest_source_delete", { ...rules, anonymous: "yes" as Rule }]]));
  assert(
    tooOpen.failures.some((f) => /as anonymous .*expected allowed, got HTTP (403|404)/.test(f)),
    `a "yes" that is refused is reported: ${tooOpen.failures.join("; ")}`,
  );
  const tooShut = await check(new Map([["harvest_source_delete", { ...rules, sysadmin: "no" as Rule }]]));
  assert(
    tooShut.failures.some((f) => /as sysadmin .*expected refused, got HTTP 200/.test(f)),
    `a "no" that gets a 200 is reported: ${tooShut.failures.join("; ")}`,
  );

  // The config, and its secret api_key, reach those who may edit the source, and no one else.
  const f = await makeFixture(services, orgA, false, false);
  for (const role of ROLES) {
    const token = tokens[role];
    const headers = token ? { Authorization: token } : undefined;
    const editor = role === "editor" || role === "admin" || role === "sysadmin";
    const show = await app.request(`/api/3/action/harvest_source_show?id=${f.sourceName}`, { headers });
    assertEquals(show.status, 200);
    const text = await show.text();
    assertEquals(text.includes("s3cret-key"), editor, `harvest_source_show as ${role}`);
    assertEquals("config" in JSON.parse(text).result, editor, `config key as ${role}`);
    const list = await app.request(`/api/3/action/harvest_source_list`, { headers });
    assertEquals((await list.text()).includes("s3cret-key"), editor, `harvest_source_list as ${role}`);
  }
});

Deno.test("a private source does not show through its public datasets: package_show and package_search hide it from outsiders", async () => {
  await using services = await testServices();
  const site = { services, actor: SITE_ACTOR };
  const act = (name: string, input: unknown) => runAction(ACTIONS.get(name)!, site, input);
  const orgA = ((await act("organization_create", { name: "org-a" })) as { id: string }).id;
  await act("user_create", { name: "insider" });
  await act("organization_member_create", { id: "org-a", username: "insider", role: "member" });
  const insider = ((await act("api_token_create", { user: "insider", name: "t" })) as { token: string }).token;
  const f = await makeFixture(services, orgA, true, false);
  await services.sql`UPDATE harvest_source SET title = 'Secret source' WHERE id = ${f.sourceId}`;
  await services.sql`UPDATE package SET private = false WHERE id = ${f.packageId}`;
  const app = createApp(services);
  const read = async (path: string, token?: string) =>
    await (await app.request(path, { headers: token ? { Authorization: token } : {} })).text();
  for (
    const path of [
      `/api/3/action/package_show?id=${f.packageId}`,
      `/api/3/action/package_search?q=name:${f.packageName}`,
    ]
  ) {
    const outsider = await read(path);
    assert(outsider.includes(f.packageName), `${path}: the public dataset itself is shown`);
    assert(
      !outsider.includes(f.sourceId) && !outsider.includes("Secret source"),
      `${path} leaks the source: ${outsider}`,
    );
    const member = await read(path, insider);
    assert(member.includes(f.sourceId) && member.includes("Secret source"), `${path}: members see the source`);
  }
});
