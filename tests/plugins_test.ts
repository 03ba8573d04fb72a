/** Third-party harvesters loaded from file: and http: URLs, with the example plugin. */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { tempDir, testServices } from "./helpers.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { ConfigError } from "../src/config/mod.ts";

const ROOT = new URL("../", import.meta.url);
const EXAMPLE = new URL("examples/plugins/csv_catalog.ts", ROOT).href;

function csvServer() {
  let csv = "id,title,description,url,modified,tags\n" +
    'a1,First,"One, with a comma",http://example.org/a1,2024-01-01,x;y\n' +
    "a2,Second,Two,http://example.org/a2,2024-01-02,y\n" +
    "a3,,No title,,2024-01-03,\n";
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response(csv));
  return {
    url: `http://127.0.0.1:${server.addr.port}/catalog.csv`,
    set: (text: string) => csv = text,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function harvestWithPlugin(pluginUrl: string) {
  await using services = await testServices({ CKAN__HARVEST__PLUGINS: pluginUrl });
  await using remote = csvServer();
  const ctx = { services, actor: SITE_ACTOR };
  const act = (name: string, input: Record<string, unknown>) => runAction(getAction(name)!, ctx, input);
  const infos = await act("harvesters_info_show", {}) as { name: string }[];
  assertEquals(infos.map((i) => i.name), ["ckan", "dcat_rdf", "dcat_json", "csv_catalog"]);
  await act("harvest_source_create", {
    name: "csv-src",
    url: remote.url,
    source_type: "csv_catalog",
    config: { api_token: "t0ken-secret", delete_threshold: 60 },
  });
  const source = await getSource(services.sql, "csv-src");
  const first = await runJobInProcess(ctx, source);
  assertEquals([first.stats.added, first.stats.errored], [2, 1]);
  const report = await act("harvest_job_report", { id: first.jobId }) as {
    object_errors: Record<string, { guid: string; errors: { message: string }[] }>;
  };
  assertEquals(Object.values(report.object_errors)[0]!.errors[0]!.message, "Record a3 has no title");
  const shown = await act("package_search", { q: "First" }) as { results: Record<string, unknown>[] };
  assertEquals(shown.results[0]!.notes, "One, with a comma");
  assertEquals((shown.results[0]!.tags as { name: string }[]).map((t) => t.name), ["x", "y"]);

  remote.set(
    'id,title,description,url,modified,tags\na1,First,"One, with a comma",http://example.org/a1,2024-01-01,x;y\n',
  );
  const second = await runJobInProcess(ctx, source);
  assertEquals([second.stats["not modified"], second.stats.deleted], [1, 1]);

  // The plugin's hook and secret keys reach the service.
  await act("user_create", { name: "root", email: "root@example.org", sysadmin: true });
  const recipients = await act("harvest_get_notifications_recipients", { source_id: "csv-src" }) as { email: string }[];
  assertEquals(recipients.map((r) => r.email), ["root@example.org", "data-team@example.org"]);
}

Deno.test("the example plugin loads from a file: URL and harvests a CSV catalog", async () => {
  await harvestWithPlugin(EXAMPLE);
});

Deno.test("the example plugin loads from an http: URL served on loopback", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path.includes("..")) return new Response("no", { status: 400 });
    try {
      const body = await Deno.readFile(new URL(`.${path}`, ROOT));
      return new Response(body, { headers: { "Content-Type": "application/typescript" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    await harvestWithPlugin(`http://127.0.0.1:${server.addr.port}/examples/plugins/csv_catalog.ts`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("a plugin that does not fit stops start-up with one line naming the URL and the problem", async () => {
  using dir = tempDir();
  const write = (name: string, text: string) => {
    Deno.writeTextFileSync(`${dir.path}/${name}`, text);
    return new URL(`file://${dir.path}/${name}`).href;
  };
  const cases: [string, RegExp][] = [
    [write("empty.ts", "export const x = 1;\n"), /exports no harvesters and no hooks/],
    [
      write("bad.ts", "export default { harvesters: [{ info: () => ({ name: 'x' }) }] };\n"),
      /Cannot register harvester/,
    ],
    [`file://${dir.path}/missing.ts`, /cannot load it/],
    ["ftp://example.org/p.ts", /expected a file:, http: or https: URL/],
  ];
  for (const [url, pattern] of cases) {
    const caught = await testServices({ CKAN__HARVEST__PLUGINS: url }).then(() => undefined, (e) => e);
    assert(caught instanceof ConfigError, String(caught));
    assertMatch(caught.message, new RegExp(`ckan.harvest.plugins: ${url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `));
    assertMatch(caught.message, pattern);
  }
});
