import { loadConfig } from "../src/config/mod.ts";
import { openQueue } from "../src/queue/mod.ts";
import { queueConformance } from "./queue_conformance.ts";
import { chaosHarvest } from "./chaos.ts";

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
  open: (siteId, visibility) =>
    openQueue(
      loadConfig({
        env: { ...env(siteId), ...(visibility ? { CKAN__HARVEST__MQ__VISIBILITY_TIMEOUT: String(visibility) } : {}) },
      }),
      undefined as never,
    ),
});

Deno.test("redis queue: 5,000 datasets through three consumers that are killed and restarted lose nothing", async () => {
  await chaosHarvest({ env: { CKAN__HARVEST__MQ__TYPE: "redis", CKAN__HARVEST__MQ__URL: url } });
});

Deno.test("redis queue: a Redis restart (without persistence) in the middle of a job loses nothing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = Deno.makeTempDirSync({ prefix: "harvest-redis-" });
  const startRedis = () =>
    new Deno.Command("redis-server", {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      stdout: "null",
      stderr: "null",
    }).spawn();
  let redis = startRedis();
  await new Promise((r) => setTimeout(r, 300));
  try {
    await chaosHarvest({
      env: { CKAN__HARVEST__MQ__TYPE: "redis", CKAN__HARVEST__MQ__URL: `redis://127.0.0.1:${port}` },
      datasets: 3000,
      kills: 1,
      disrupt: async () => {
        redis.kill("SIGKILL");
        await redis.status;
        await new Promise((r) => setTimeout(r, 1500));
        redis = startRedis();
      },
    });
  } finally {
    redis.kill("SIGKILL");
    await redis.status;
    Deno.removeSync(dir, { recursive: true });
  }
});
