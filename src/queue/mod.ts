/**
 * Queues carry ids between the stages; the database stays the source of truth. One interface, one
 * conformance suite, several backends.
 *
 * @module
 */
import type { Sql } from "../db/mod.ts";
import { PostgresQueue } from "./postgres.ts";
import type { Config } from "../config/mod.ts";

export { PostgresQueue };

export type { Lane, ListenOptions, Queue, QueueName } from "./types.ts";
export { fetchMessage, gatherMessage, LANES } from "./types.ts";
export type { FetchMessage, GatherMessage } from "./types.ts";
import type { Queue } from "./types.ts";

/**
 * The queue the configuration names (`ckan.harvest.mq.*`). A broker's client library is loaded only
 * when it is the one configured: every process would otherwise carry ioredis and amqplib in its heap
 * (about 7 MB live, marked by every major collection of a harvest).
 */
export async function openQueue(config: Config, sql: Sql): Promise<Queue> {
  const v = config.values;
  const siteId = v["ckan.site_id"];
  const visibility = v["ckan.harvest.mq.visibility_timeout"];
  const connectTimeoutMs = v["ckan.harvest.connect_timeout"] * 1000;
  const hostOrPortSet = v["ckan.harvest.mq.hostname"] !== undefined || v["ckan.harvest.mq.port"] !== undefined;
  switch (v["ckan.harvest.mq.type"]) {
    case "redis": {
      // As ckanext-harvest: its own mq keys first, else CKAN's ckan.redis.url.
      const ckanRedis = !v["ckan.harvest.mq.url"] && !hostOrPortSet ? v["ckan.redis.url"] : undefined;
      const { RedisQueue } = await import("./redis.ts");
      return new RedisQueue({
        url: v["ckan.harvest.mq.url"] ?? ckanRedis,
        host: v["ckan.harvest.mq.hostname"] ?? "localhost",
        port: v["ckan.harvest.mq.port"] ?? 6379,
        db: v["ckan.harvest.mq.redis_db"],
        password: v["ckan.harvest.mq.password"],
        siteId,
        visibilitySeconds: visibility,
        connectTimeoutMs,
        configKeys: v["ckan.harvest.mq.url"]
          ? "ckan.harvest.mq.url"
          : ckanRedis
          ? "ckan.redis.url"
          : "ckan.harvest.mq.hostname and ckan.harvest.mq.port",
      });
    }
    case "amqp": {
      const { AmqpQueue } = await import("./amqp.ts");
      return new AmqpQueue({
        connectTimeoutMs,
        url: v["ckan.harvest.mq.url"],
        host: v["ckan.harvest.mq.hostname"] ?? "localhost",
        port: v["ckan.harvest.mq.port"] ?? 5672,
        user: v["ckan.harvest.mq.user_id"],
        password: v["ckan.harvest.mq.password"] ?? "guest",
        vhost: v["ckan.harvest.mq.virtual_host"],
        siteId,
      });
    }
    default:
      return new PostgresQueue(sql, siteId, visibility);
  }
}
