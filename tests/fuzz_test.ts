/**
 * Hostile input to every action, by property-based fuzzing (fast-check): whatever arrives, the API
 * answers in CKAN's envelope with a 2xx/4xx status, never a 5xx or a stack trace, and a rejected call
 * leaves everything stored exactly as it was.
 */
import fc from "fast-check";
import { assert } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { createApp } from "../src/api/mod.ts";
import { ACTIONS, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import type { Services } from "../src/services.ts";
import type { z } from "zod";

const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? "12");

/** Every stored row, hashed per table (token last-access times aside: reading them is not a change). */
async function snapshot(services: Services): Promise<string> {
  const tables = await services.sql<{ name: string }[]>`
    SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`;
  const parts: string[] = [];
  for (const { name } of tables) {
    const select = name === "api_token"
      ? `SELECT id, user_id, name, token_hash, created, expires_at, revoked FROM api_token`
      : `SELECT * FROM "${name}"`;
    const [row] = await services.sql.unsafe(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM (${select}) t`,
    );
    parts.push(`${name}:${(row as unknown as { h: string }).h}`);
  }
  return parts.join(",");
}

/** The names of an action's input fields, from its zod schema. */
function fieldsOf(schema: z.ZodType): string[] {
  const s = schema as unknown as {
    shape?: Record<string, unknown>;
    def?: { in?: { shape?: Record<string, unknown> } };
  };
  return Object.keys(s.shape ?? s.def?.in?.shape ?? {});
}

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "' OR 1=1 --",
    '"; DROP TABLE package; --',
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:5432/",
    "file:///etc/passwd",
    "\u0000",
    "%00",
    "𝕦𝕟𝕚𝕔𝕠𝕕𝕖 ☃",
    "a".repeat(5000),
    "-1",
    "1e309",
    "NaN",
    "true",
    "[]",
    "{}",
    "*:*",
    "name:(a OR",
    "metadata_modified:[x TO y]",
  ),
);
const hostileValue = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(hostileString, { maxLength: 4 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 4 }),
  fc.anything({ maxDepth: 2 }),
);

Deno.test("hostile input to every action: no 5xx, no stack trace, nothing stored changes when refused", async () => {
  await using services = await testServices({
    CKAN__HARVEST__ALLOW_PRIVATE_URLS: "false",
    CKAN__HARVEST__HTTP__TIMEOUT: "2",
  });
  const site = { services, actor: SITE_ACTOR };
  const act = (name: string, input: unknown) => runAction(ACTIONS.get(name)!, site, input);
  await act("organization_create", { name: "org-a" });
  await act("user_create", { name: "fuzz-sys", sysadmin: true });
  await act("user_create", { name: "fuzz-member" });
  await act("organization_member_create", { id: "org-a", username: "fuzz-member", role: "member" });
  const token = async (user: string) =>
    ((await act("api_token_create", { user, name: "fuzz" })) as { token: string }).token;
  const actors = { anonymous: undefined, member: await token("fuzz-member"), sysadmin: await token("fuzz-sys") };
  // Something to point at: a source with a finished job, an object and its dataset.
  const { sql } = services;
  await sql`INSERT INTO harvest_source (id, name, url, url_normalized, type, owner_org)
    VALUES ('src-id', 'fuzz-source', 'http://127.0.0.1:9/', '127.0.0.1:9', 'ckan',
      (SELECT id FROM "group" WHERE name = 'org-a'))`;
  await sql`INSERT INTO harvest_job (id, source_id, status) VALUES ('job-id', 'src-id', 'Finished')`;
  await sql`INSERT INTO package (id, name, title) VALUES ('pkg-id', 'fuzz-dataset', 'Fuzz')`;
  await sql`INSERT INTO harvest_object (id, guid, current, content, harvest_job_id, harvest_source_id, package_id)
    VALUES ('obj-id', 'g1', true, '{}', 'job-id', 'src-id', 'pkg-id')`;
  const known = fc.constantFrom("src-id", "fuzz-source", "job-id", "obj-id", "pkg-id", "fuzz-dataset", "org-a");

  const app = createApp(services);
  let calls = 0;
  for (const [name, action] of ACTIONS) {
    const fields = fieldsOf(action.input);
    const input = fc.oneof(
      fc.dictionary(hostileString, hostileValue, { maxKeys: 5 }),
      fc.record(Object.fromEntries(fields.map((f) => [f, fc.oneof(hostileValue, known)])), { requiredKeys: [] }),
    );
    await fc.assert(
      fc.asyncProperty(input, fc.constantFrom(...Object.keys(actors)), fc.boolean(), async (body, who, asGet) => {
        const before = await snapshot(services);
        const auth = actors[who as keyof typeof actors];
        const headers: Record<string, string> = { "Content-Type": "application/json" };
        if (auth) headers.Authorization = auth;
        const get = asGet && action.sideEffectFree;
        const res = await app.request(
          get
            ? `/api/3/action/${name}?${new URLSearchParams(
              Object.entries(body).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
            )}`
            : `/api/3/action/${name}`,
          { method: get ? "GET" : "POST", headers, body: get ? undefined : JSON.stringify(body) },
        );
        calls++;
        const text = await res.text();
        const where = `${name} as ${who} with ${JSON.stringify(body).slice(0, 300)}`;
        assert(res.status < 500, `${where}: HTTP ${res.status} ${text.slice(0, 500)}`);
        assert(!/\bat .+\.(ts|js):\d+|Error:\s/.test(text), `${where}: stack trace in ${text.slice(0, 500)}`);
        const parsed = JSON.parse(text);
        assert(typeof parsed.success === "boolean", `${where}: not CKAN's envelope`);
        if (!parsed.success) {
          assert(parsed.error?.__type, `${where}: error without __type`);
          const after = await snapshot(services);
          assert(before === after, `${where}: refused (HTTP ${res.status}) yet the database changed`);
        }
      }),
      { numRuns: RUNS },
    );
  }
  assert(calls >= ACTIONS.size * RUNS, `${calls} calls`);
});

/** The fields README's "q and fq" paragraph documents. */
const FQ_FIELDS = [
  "id",
  "name",
  "title",
  "license_id",
  "state",
  "type",
  "dataset_type",
  "url",
  "version",
  "author",
  "maintainer",
  "owner_org",
  "organization",
  "tags",
  "groups",
  "res_format",
  "private",
  "capacity",
  "harvest_source_id",
  "harvest_object_id",
  "extras_theme",
  "text",
  "metadata_modified",
  "metadata_created",
  "num_resources",
  "num_tags",
];

Deno.test("package_search answers every documented fq field and range form, or refuses it with a 409 naming fq; never a 5xx", async () => {
  await using services = await testServices();
  const app = createApp(services);
  const bound = fc.oneof(
    fc.constantFrom("*", "NOW", "NOW-7DAYS", "NOW/DAY", "NOW+1HOUR/HOUR", "2024-01-01", "2024-01-01T00:00:00Z", "3"),
    fc.constantFrom("2024-13-45", "yesterday", "-1", "1e9", "NOW-", "x"),
    hostileString.filter((s) => !/\s/.test(s) && s.length < 30),
  );
  const value = fc.oneof(
    fc.constantFrom("true", "false", "public", "private", "*", "CSV", "water", "2024-01-01", "1"),
    fc.string({ maxLength: 12 }).map((s) => `"${s.replace(/"/g, "")}"`),
    fc.tuple(fc.constantFrom("[", "{"), bound, bound, fc.constantFrom("]", "}")).map(([o, a, b, c]) =>
      `${o}${a} TO ${b}${c}`
    ),
    hostileString.filter((s) => s.length < 40),
  );
  const term = fc.tuple(fc.constantFrom("", "-", "+"), fc.constantFrom(...FQ_FIELDS), value).map(([sign, f, v]) =>
    `${sign}${f}:${v}`
  );
  const fq = fc.oneof(
    term,
    fc.tuple(term, term).map(([a, b]) => `${a} OR ${b}`),
    fc.tuple(term, term).map((t) => t.join(" ")),
  );
  await fc.assert(
    fc.asyncProperty(fq, fc.constantFrom("fq", "q"), async (query, param) => {
      const res = await app.request(`/api/3/action/package_search?${new URLSearchParams({ [param]: query })}`);
      const body = await res.json();
      assert(res.status < 500, `${param}=${query}: HTTP ${res.status} ${JSON.stringify(body)}`);
      if (res.status !== 200) {
        assert(res.status === 409, `${param}=${query}: HTTP ${res.status}`);
        assert(param in body.error, `${param}=${query}: the error names ${param}: ${JSON.stringify(body.error)}`);
      }
    }),
    { numRuns: Number(Deno.env.get("FUZZ_RUNS") ?? "12") * 25 },
  );
});

Deno.test("a body nested 10,000 deep is a 400 on every action, anonymous or not, and an Origin: null form is a 403", async () => {
  await using services = await testServices();
  const app = createApp(services);
  const deep = [`{"a":${"[".repeat(10_000)}1${"]".repeat(10_000)}}`, `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`];
  for (const name of ACTIONS.keys()) {
    for (const body of deep) {
      const res = await app.request(`/api/3/action/${name}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
      });
      const text = await res.text();
      assert(res.status === 400, `${name}: HTTP ${res.status} ${text.slice(0, 200)}`);
      assert(/nests deeper than 64 levels/.test(text), `${name}: ${text.slice(0, 200)}`);
    }
  }
  const config = `{"x":${"[".repeat(100)}${"]".repeat(100)}}`;
  const res = await app.request("/api/3/action/harvest_source_create", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: "deep", url: "http://127.0.0.1:9/", source_type: "ckan", config }),
  });
  assert(res.status === 403 || res.status === 409, `a deep config string: HTTP ${res.status}`);
  for (const origin of ["null", "not a url", "http://evil.example"]) {
    const form = await app.request("/user/login", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: origin },
      body: "username=a&password=b",
    });
    assert(form.status === 403, `Origin: ${origin}: HTTP ${form.status}`);
  }
});
