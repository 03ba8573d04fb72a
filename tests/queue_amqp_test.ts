import { loadConfig } from "../src/config/mod.ts";
import { openQueue } from "../src/queue/mod.ts";
import { queueConformance } from "./queue_conformance.ts";

const url = Deno.env.get("TEST_AMQP_URL")!;
const env = (siteId: string) => ({
  CKAN__SITE_ID: siteId,
  CKAN__HARVEST__MQ__TYPE: "amqp",
  CKAN__HARVEST__MQ__URL: url,
});

queueConformance({
  name: "amqp",
  env,
  open: (siteId) => Promise.resolve(openQueue(loadConfig({ env: env(siteId) }), undefined as never)),
});
