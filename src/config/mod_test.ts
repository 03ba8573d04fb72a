import { assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  CONFIG_KEYS as configKeys,
  ConfigError,
  ENV_SETTINGS as envSettings,
  envNameToKey,
  loadConfig,
} from "./mod.ts";

Deno.test("loadConfig() applies defaults, reads [app:main] of an ini file, and lets the environment win", () => {
  const dir = Deno.makeTempDirSync();
  const file = `${dir}/harvest.ini`;
  Deno.writeTextFileSync(
    file,
    "[app:main]\nckan.site_id = portal-a\nckan.harvest.http.timeout = 30\nckan.harvest.mq.redis_db = 3\n" +
      "ckan.harvest.not_overwrite_fields = notes  title\nsqlalchemy.url = ignored\n",
  );
  const defaults = loadConfig({ env: {} });
  assertEquals(defaults.values["ckan.harvest.mq.type"], "postgres");
  assertEquals(defaults.values["ckan.site_id"], "default");
  assertEquals(defaults.values["ckan.harvest.http.timeout"], 60);
  assertEquals(defaults.dataDir, "./.harvest");
  assertEquals(defaults.port, 5000);
  const c = loadConfig({ file, env: { CKAN__SITE_ID: "portal-b", CKAN__HARVEST__MQ__TYPE: "ampq", PORT: "8080" } });
  assertEquals(c.values["ckan.site_id"], "portal-b");
  assertEquals(c.values["ckan.harvest.mq.type"], "amqp");
  assertEquals(c.values["ckan.harvest.http.timeout"], 30);
  assertEquals(c.values["ckan.harvest.mq.redis_db"], 3);
  assertEquals(c.values["ckan.harvest.not_overwrite_fields"], ["notes", "title"]);
  assertEquals(c.port, 8080);
  assertEquals(c.file, file);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("envNameToKey() maps the ckanext-envvars spelling to ini keys", () => {
  assertEquals(envNameToKey("CKAN__HARVEST__MQ__TYPE"), "ckan.harvest.mq.type");
  assertEquals(envNameToKey("CKAN__SITE_ID"), "ckan.site_id");
  assertEquals(
    envNameToKey("CKANEXT__HARVEST__DEFAULT_DATASET_NAME_APPEND"),
    "ckanext.harvest.default_dataset_name_append",
  );
  assertEquals(envNameToKey("HOME"), undefined);
});

Deno.test("loadConfig() stops on an invalid value with one line naming the key, the value and what is allowed", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { CKAN__HARVEST__MQ__TYPE: "kafka" },
      /^Invalid configuration: ckan\.harvest\.mq\.type = "kafka": expected one of postgres, redis, amqp, ampq$/,
    ],
    [{ CKAN__HARVEST__HTTP__TIMEOUT: "soon" }, /^Invalid configuration: ckan\.harvest\.http\.timeout = "soon": /],
    [
      { CKAN__HARVEST__HTTP__TIMEOUT: "0" },
      /^Invalid configuration: ckan\.harvest\.http\.timeout = "0": expected a value of at least 1$/,
    ],
    [
      { CKANEXT__HARVEST__DEFAULT_DATASET_NAME_APPEND: "letters" },
      /^Invalid configuration: ckanext\.harvest\.default_dataset_name_append = "letters": expected one of number-sequence, random-hex$/,
    ],
    [
      { CKAN__HARVEST__MQ__PASSWORD: "", CKAN__HARVEST__MQ__PORT: "99999" },
      /^Invalid configuration: ckan\.harvest\.mq\.port = "99999": expected a value of at most 65535$/,
    ],
    [{ PORT: "http" }, /^Invalid configuration: PORT = "http": expected a port number/],
    [
      { DATABASE_URL: "mysql://u:pw@h/db" },
      /^Invalid configuration: DATABASE_URL = \(hidden\): expected a postgres:\/\/ or postgresql:\/\/ URL$/,
    ],
  ];
  for (const [env, message] of cases) {
    assertThrows(() => loadConfig({ env }), (e: Error) => e instanceof ConfigError && message.test(e.message));
  }
  assertThrows(() => loadConfig({ file: "/nonexistent/harvest.ini", env: {} }), /Cannot read config file/);
});

Deno.test("every configuration key and fixed environment variable is documented in the README", () => {
  const readme = Deno.readTextFileSync(new URL("../../README.md", import.meta.url));
  const { CONFIG_KEYS, ENV_SETTINGS } = { CONFIG_KEYS: configKeys, ENV_SETTINGS: envSettings };
  for (const key of [...Object.keys(CONFIG_KEYS), ...Object.keys(ENV_SETTINGS)]) {
    assertEquals(readme.includes(`\`${key}\``), true, `${key} is missing from the README`);
  }
});
