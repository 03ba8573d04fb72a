import { loadConfig } from "../src/config/mod.ts";
import { openQueue } from "../src/queue/mod.ts";
import { queueConformance } from "./queue_conformance.ts";
import { chaosHarvest } from "./chaos.ts";

const url = Deno.env.get("TEST_AMQP_URL")!;
const env = (siteId: string) => ({
  CKAN__SITE_ID: siteId,
  CKAN__HARVEST__MQ__TYPE: "amqp",
  CKAN__HARVEST__MQ__URL: url,
});

queueConformance({
  name: "amqp",
  env,
  open: (siteId) => openQueue(loadConfig({ env: env(siteId) }), undefined as never),
});

Deno.test("amqp queue: 5,000 datasets through three consumers that are killed and restarted lose nothing", async () => {
  await chaosHarvest({ env: { CKAN__HARVEST__MQ__TYPE: "amqp", CKAN__HARVEST__MQ__URL: url } });
});

Deno.test("amqp queue: a RabbitMQ restart in the middle of a job loses nothing", async () => {
  const rabbitmqctl = (command: string) =>
    new Deno.Command("rabbitmqctl", {
      args: ["-q", command],
      env: { RABBITMQ_NODENAME: Deno.env.get("TEST_RABBITMQ_NODENAME")! },
      stdout: "null",
      stderr: "null",
    }).output();
  try {
    await chaosHarvest({
      env: { CKAN__HARVEST__MQ__TYPE: "amqp", CKAN__HARVEST__MQ__URL: url },
      datasets: 3000,
      kills: 1,
      disrupt: async () => {
        await rabbitmqctl("stop_app");
        await new Promise((r) => setTimeout(r, 1500));
        await rabbitmqctl("start_app");
      },
    });
  } finally {
    await rabbitmqctl("start_app");
  }
});
