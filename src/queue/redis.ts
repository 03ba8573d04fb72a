import { Redis } from "ioredis";
import { getLogger } from "@logtape/logtape";
import type { ListenOptions, Queue, QueueName } from "./mod.ts";
import { backoff, sleep } from "./retry.ts";

const log = getLogger(["harvest", "queue", "redis"]);
const GROUP = "harvest";

export interface RedisQueueOptions {
  url?: string;
  host: string;
  port: number;
  db: number;
  password?: string;
  siteId: string;
  /** Seconds a delivered message may stay unacknowledged before another consumer reclaims it. */
  visibilitySeconds: number;
}

type Entry = [id: string, fields: string[]];

/**
 * Redis Streams with a consumer group: a delivered message stays in the group's pending list until
 * it is acknowledged (after the database commit); entries a dead consumer left pending past the
 * visibility timeout are reclaimed with XAUTOCLAIM by the next consumer. Nothing is lost when a
 * consumer dies, and no BLPOP-and-hope.
 */
export class RedisQueue implements Queue {
  #client: Redis;
  #options: RedisQueueOptions;
  #groups = new Set<string>();

  constructor(options: RedisQueueOptions) {
    this.#options = options;
    this.#client = this.#connect();
  }

  #connect(): Redis {
    const o = this.#options;
    const common = {
      maxRetriesPerRequest: null,
      retryStrategy: (times: number) => Math.min(100 * 2 ** times, 5000),
      lazyConnect: false,
    };
    const client = o.url
      ? new Redis(o.url, common)
      : new Redis({ host: o.host, port: o.port, db: o.db, password: o.password, ...common });
    client.on("error", (error) => log.debug("Redis connection problem: {error}", { error: error.message }));
    return client;
  }

  /** Stream keys, namespaced by site id as the original's list keys. */
  key(queue: QueueName): string {
    return `ckanext-harvest:${this.#options.siteId}:stream:${queue}`;
  }

  async #ensureGroup(client: Redis, key: string, force = false): Promise<void> {
    if (this.#groups.has(key) && !force) return;
    try {
      await client.xgroup("CREATE", key, GROUP, "0", "MKSTREAM");
    } catch (error) {
      if (!String((error as Error).message).includes("BUSYGROUP")) throw error;
    }
    this.#groups.add(key);
  }

  async publish(queue: QueueName, bodies: string[]): Promise<void> {
    if (bodies.length === 0) return;
    const key = this.key(queue);
    await this.#ensureGroup(this.#client, key);
    const pipeline = this.#client.pipeline();
    for (const body of bodies) pipeline.xadd(key, "*", "body", body);
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async listen(queue: QueueName, handler: (body: string) => Promise<void>, options: ListenOptions): Promise<void> {
    const key = this.key(queue);
    const concurrency = options.concurrency ?? 1;
    const consumer = `${Deno.hostname()}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    // Blocking reads get their own connection, so publishing and acks never wait behind them.
    const reader = this.#client.duplicate();
    reader.on("error", () => {});
    const inFlight = new Set<Promise<void>>();
    const minIdle = this.#options.visibilitySeconds * 1000;
    let failures = 0;
    const start = (id: string, body: string) => {
      const task = handler(body)
        .then(async () => {
          await this.#client.multi().xack(key, GROUP, id).xdel(key, id).exec();
        })
        .catch((error) => log.info("Message {id} not acknowledged: {error}", { id, error: String(error) }))
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    };
    try {
      while (!options.signal.aborted) {
        const free = concurrency - inFlight.size;
        if (free <= 0) {
          await Promise.race(inFlight);
          continue;
        }
        try {
          await this.#ensureGroup(reader, key);
          const claimed = await reader.xautoclaim(key, GROUP, consumer, minIdle, "0-0", "COUNT", free) as [
            string,
            Entry[],
          ];
          let entries = (claimed?.[1] ?? []).filter((e) => e && e[1]);
          if (entries.length === 0) {
            const read = await reader.xreadgroup(
              "GROUP",
              GROUP,
              consumer,
              "COUNT",
              free,
              "BLOCK",
              inFlight.size > 0 ? 100 : 1000,
              "STREAMS",
              key,
              ">",
            ) as [string, Entry[]][] | null;
            entries = read?.[0]?.[1] ?? [];
          }
          failures = 0;
          for (const [id, fields] of entries) {
            const body = fields[fields.indexOf("body") + 1];
            if (body === undefined) {
              await this.#client.multi().xack(key, GROUP, id).xdel(key, id).exec();
              continue;
            }
            start(id, body);
          }
        } catch (error) {
          const message = (error as Error).message ?? String(error);
          if (message.includes("NOGROUP")) {
            // Redis restarted without persistence: the stream and group are gone; recreate them.
            this.#groups.delete(key);
            continue;
          }
          failures++;
          log.warning("Redis read failed ({failures}), retrying: {error}", { failures, error: message });
          await sleep(backoff(failures), options.signal);
        }
      }
    } finally {
      await Promise.allSettled(inFlight);
      reader.disconnect();
    }
  }

  async purge(queue: QueueName): Promise<number> {
    const key = this.key(queue);
    const n = await this.#client.xlen(key);
    await this.#client.del(key);
    this.#groups.delete(key);
    await this.#ensureGroup(this.#client, key);
    return n;
  }

  async depth(queue: QueueName): Promise<number> {
    return await this.#client.xlen(this.key(queue));
  }

  close(): Promise<void> {
    this.#client.disconnect();
    return Promise.resolve();
  }
}
