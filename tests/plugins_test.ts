/** Third-party harvesters loaded from file: and http: URLs, with the example plugin. */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { tempDir, testServices } from "./helpers.ts";
import { harvestWithPlugin } from "./fixtures/plugin_harvest.ts";
import { taskCommand } from "./task_flags.ts";
import { ConfigError } from "../src/config/mod.ts";

const ROOT = new URL("../", import.meta.url);
const EXAMPLE = new URL("examples/plugins/csv_catalog.ts", ROOT).href;

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
  // In a process of its own with a copy of the lock file: Deno records every remote module's hash in
  // the lock, and the repository's must not collect one entry per test port.
  using dir = tempDir();
  const lock = `${dir.path}/deno.lock`;
  const before = Deno.readTextFileSync(new URL("deno.lock", ROOT));
  Deno.writeTextFileSync(lock, before);
  const url = `http://127.0.0.1:${server.addr.port}/examples/plugins/csv_catalog.ts`;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      // The harvest runs the product's code, so it gets the harvester task's flags (plus its own lock file).
      args: [
        "run",
        ...taskCommand("harvester").flags,
        `--lock=${lock}`,
        new URL("tests/fixtures/plugin_harvest.ts", ROOT).pathname,
        url,
      ],
      env: { NO_COLOR: "1" },
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(out.success, output);
    assertMatch(output, /plugin harvest ok/);
  } finally {
    await server.shutdown();
  }
  assert(Deno.readTextFileSync(lock).includes(url), "the plugin was imported over http");
  assertEquals(Deno.readTextFileSync(new URL("deno.lock", ROOT)), before, "the repository's lock file is untouched");
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
