import { loadConfig } from "../src/config/mod.ts";
import { openQueue } from "../src/queue/mod.ts";
import { queueConformance } from "./queue_conformance.ts";

const url = Deno.env.get("TEST_REDIS_URL")!;
const env = (siteId: string) => ({
  CKAN__SITE_ID: siteId,
  CKAN__HARVEST__MQ__TYPE: "redis",
  CKAN__HARVEST__MQ__URL: url,
  CKAN__HARVEST__MQ__VISIBILITY_TIMEOUT: "2",
});

queueConformance({
  name: "redis",
  env,
  open: (siteId) => Promise.resolve(openQueue(loadConfig({ env: env(siteId) }), undefined as never)),
});
