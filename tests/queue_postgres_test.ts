import postgres from "postgres";
import { loadConfig } from "../src/config/mod.ts";
import { migrate } from "../src/db/mod.ts";
import { openQueue } from "../src/queue/mod.ts";
import { freshDatabase } from "./helpers.ts";
import { queueConformance } from "./queue_conformance.ts";
import { chaosHarvest } from "./chaos.ts";

const db = await freshDatabase();
const setup = postgres(db.url, { onnotice: () => {}, max: 1 });
await migrate(setup as never);
await setup.end();
const env = (siteId: string) => ({
  DATABASE_URL: db.url,
  CKAN__SITE_ID: siteId,
  CKAN__HARVEST__MQ__TYPE: "postgres",
  CKAN__HARVEST__MQ__VISIBILITY_TIMEOUT: "2",
});

queueConformance({
  name: "postgres",
  env,
  async open(siteId, visibility) {
    const sql = postgres(db.url, { onnotice: () => {}, max: 6 });
    const settings = {
      ...env(siteId),
      ...(visibility ? { CKAN__HARVEST__MQ__VISIBILITY_TIMEOUT: String(visibility) } : {}),
    };
    const queue = await openQueue(loadConfig({ env: settings }), sql as never);
    const close = queue.close.bind(queue);
    queue.close = async () => {
      await close();
      await sql.end();
    };
    return queue;
  },
});

Deno.test("postgres queue: 5,000 datasets through three consumers that are killed and restarted lose nothing", async () => {
  await chaosHarvest({ env: { CKAN__HARVEST__MQ__TYPE: "postgres" } });
});
