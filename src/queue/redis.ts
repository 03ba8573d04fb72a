import { PROCESS_ID } from "../db/consumers.ts";
import { Redis } from "ioredis";
import { getLogger } from "@logtape/logtape";
import { DEFAULT_RETRY_DELAY, type Lane, LANES, type ListenOptions, type Queue, type QueueName } from "./types.ts";
import { backoff, brokerAddress, sleep, untilAborted, within } from "./retry.ts";
import { UnavailableError } from "../errors/mod.ts";

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
  /** How long a command waits for Redis before it fails with a message naming the address. */
  connectTimeoutMs?: number;
  /** The config keys that set the address, named in that message. */
  configKeys?: string;
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
  #lastError = "";

  constructor(options: RedisQueueOptions) {
    this.#options = options;
    this.#client = this.#connect();
  }

  /** `host:port` of the broker, without any password. */
  get address(): string {
    return brokerAddress(this.#options, 6379);
  }

  #unavailable(): UnavailableError {
    const seconds = Math.round((this.#options.connectTimeoutMs ?? 15_000) / 1000);
    const why = this.#lastError ? `: ${this.#lastError}` : "";
    return new UnavailableError(
      `Cannot reach Redis at ${this.address} within ${seconds} s${why}; check ${
        this.#options.configKeys ?? "ckan.harvest.mq.url"
      } (and ckan.harvest.connect_timeout)`,
    );
  }

  /** Waits until `client` is connected, for at most the connect timeout; or, given a signal, until it aborts. */
  #ready(client: Redis, signal?: AbortSignal): Promise<void> {
    if (client.status === "ready") return Promise.resolve();
    const ready = new Promise<void>((resolve) => client.once("ready", () => resolve()));
    if (signal) return untilAborted(ready, signal).then(() => {});
    return within(ready, this.#options.connectTimeoutMs ?? 15_000, () => this.#unavailable());
  }

  /** A command of a short-lived caller: fails within the connect timeout instead of waiting for Redis forever. */
  async #command<T>(run: () => Promise<T>): Promise<T> {
    await this.#ready(this.#client);
    return await within(run(), this.#options.connectTimeoutMs ?? 15_000, () => this.#unavailable());
  }

  #connect(): Redis {
    const o = this.#options;
    const common = {
      maxRetriesPerRequest: null,
      retryStrategy: (times: number) => Math.min(100 * 2 ** times, 5000),
      lazyConnect: false,
      connectTimeout: Math.min(o.connectTimeoutMs ?? 10_000, 10_000),
    };
    const client = o.url
      ? new Redis(o.url, common)
      : new Redis({ host: o.host, port: o.port, db: o.db, password: o.password, ...common });
    client.on("error", (error) => {
      this.#lastError = error.message || String(error);
      log.debug("Redis connection problem: {error}", { error: this.#lastError });
    });
    return client;
  }

  /** Stream keys, namespaced by site id as the original's list keys; the fast lane adds `:fast`. */
  key(queue: QueueName, lane: Lane = "bulk"): string {
    return `ckanext-harvest:${this.#options.siteId}:stream:${queue}${lane === "fast" ? ":fast" : ""}`;
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

  async publish(queue: QueueName, bodies: string[], lane: Lane = "bulk"): Promise<void> {
    if (bodies.length === 0) return;
    const key = this.key(queue, lane);
    await this.#command(async () => {
      await this.#ensureGroup(this.#client, key);
      const pipeline = this.#client.pipeline();
      for (const body of bodies) pipeline.xadd(key, "*", "body", body);
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (failed) throw failed[0];
    });
  }

  async listen(queue: QueueName, handler: (body: string) => Promise<void>, options: ListenOptions): Promise<void> {
    // The fast lane first: reads list its stream first, and what was read is started fast-first.
    const keys = LANES.map((lane) => this.key(queue, lane));
    const concurrency = options.concurrency ?? 1;
    // The process's own name: the one its heartbeat and leases carry, so its pending messages can be
    // handed on when it stops reporting alive.
    const consumer = PROCESS_ID;
    // Blocking reads get their own connection, so publishing and acks never wait behind them.
    const reader = this.#client.duplicate();
    reader.on("error", () => {});
    const inFlight = new Set<Promise<void>>();
    // Entries read (so pending to this consumer) but not started yet, per lane: a read of both lanes
    // may answer more than there is room for.
    const waiting: Record<Lane, { id: string; body: string }[]> = { fast: [], bulk: [] };
    const minIdle = this.#options.visibilitySeconds * 1000;
    let failures = 0;
    let reclaimed = 0;
    const retryDelay = (options.retryDelay ?? DEFAULT_RETRY_DELAY) * 1000;
    const start = (key: string, id: string, body: string) => {
      const task = handler(body)
        .then(async () => {
          await this.#command(() => this.#client.multi().xack(key, GROUP, id).xdel(key, id).exec());
        }, async (error) => {
          log.info("Message {id} not acknowledged: {error}", { id, error: String(error) });
          // After the retry delay (at once on shutdown) it is added again and this entry acknowledged,
          // unless it was handed on meanwhile (this process was thought dead); if Redis cannot be
          // reached, it stays pending until the visibility timeout.
          await sleep(retryDelay, options.signal);
          const mine = await this.#command(() =>
            this.#client.xpending(key, GROUP, id, id, 1, consumer) as Promise<unknown[]>
          );
          if (mine.length === 0) return;
          await this.#command(() =>
            this.#client.multi().xadd(key, "*", "body", body).xack(key, GROUP, id).xdel(key, id).exec()
          );
        })
        .catch((error) => log.info("Message {id} not handed back: {error}", { id, error: String(error) }))
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    };
    const keep = async (key: string, entries: Entry[]) => {
      const lane = LANES[keys.indexOf(key)]!;
      for (const entry of entries) {
        if (!entry || !entry[1]) continue;
        const [id, fields] = entry;
        const body = fields[fields.indexOf("body") + 1];
        if (body === undefined) {
          await this.#command(() => this.#client.multi().xack(key, GROUP, id).xdel(key, id).exec());
        } else waiting[lane].push({ id, body });
      }
    };
    const read = async (lanes: string[], free: number, block?: number) => {
      const streams = [...lanes, ...lanes.map(() => ">")];
      const reading = block === undefined
        ? reader.xreadgroup("GROUP", GROUP, consumer, "COUNT", free, "STREAMS", ...streams)
        : reader.xreadgroup("GROUP", GROUP, consumer, "COUNT", free, "BLOCK", block, "STREAMS", ...streams);
      const answer = await untilAborted(reading as Promise<[string, Entry[]][] | null>, options.signal);
      for (const [key, entries] of answer ?? []) await keep(key, entries);
    };
    try {
      while (!options.signal.aborted) {
        const free = concurrency - inFlight.size;
        if (free <= 0) {
          await Promise.race(inFlight);
          continue;
        }
        try {
          if (reader.status !== "ready") {
            // Say so once per outage, then keep waiting; SIGTERM still stops the loop at once.
            const waited = within(
              this.#ready(reader, options.signal),
              this.#options.connectTimeoutMs ?? 15_000,
              () => this.#unavailable(),
            );
            await waited;
            if (options.signal.aborted) break;
          }
          for (const key of keys) await this.#ensureGroup(reader, key);
          // Entries a dead consumer left pending past the visibility timeout, looked for once a second.
          if (Date.now() - reclaimed > 1000) {
            reclaimed = Date.now();
            for (const key of keys) {
              const claimed = await untilAborted(
                reader.xautoclaim(key, GROUP, consumer, minIdle, "0-0", "COUNT", free) as Promise<[string, Entry[]]>,
                options.signal,
              );
              await keep(key, claimed?.[1] ?? []);
            }
          }
          // The fast lane is asked first every time, so bulk entries already read never delay it long.
          if (!options.signal.aborted && waiting.fast.length < free) await read([keys[0]!], free - waiting.fast.length);
          if (!options.signal.aborted && waiting.fast.length === 0 && waiting.bulk.length === 0) {
            await read(keys, free, inFlight.size > 0 ? 100 : 1000);
          }
          if (options.signal.aborted) break;
          failures = 0;
          for (const lane of LANES) {
            const key = keys[LANES.indexOf(lane)]!;
            for (const entry of waiting[lane].splice(0, concurrency - inFlight.size)) start(key, entry.id, entry.body);
          }
        } catch (error) {
          const message = (error as Error).message ?? String(error);
          if (message.includes("NOGROUP")) {
            // Redis restarted without persistence: the stream and group are gone; recreate them.
            for (const key of keys) this.#groups.delete(key);
            continue;
          }
          failures++;
          log.warning("Cannot read from Redis at {address} ({failures}), retrying: {error}", {
            address: this.address,
            failures,
            error: message,
          });
          await sleep(backoff(failures), options.signal);
        }
      }
    } finally {
      await Promise.allSettled(inFlight);
      reader.disconnect();
    }
  }

  purge(queue: QueueName): Promise<number> {
    return this.#command(async () => {
      let n = 0;
      for (const lane of LANES) {
        const key = this.key(queue, lane);
        n += await this.#client.xlen(key);
        await this.#client.del(key);
        this.#groups.delete(key);
        await this.#ensureGroup(this.#client, key);
      }
      return n;
    });
  }

  /**
   * Hands on the messages silent processes left pending: each is added again (a fresh entry, delivered
   * at once) and the old one acknowledged and deleted; the dead consumers leave the group.
   */
  async releaseHolders(holders: string[]): Promise<number> {
    let moved = 0;
    const keys = (["gather", "fetch"] as QueueName[]).flatMap((queue) => LANES.map((lane) => this.key(queue, lane)));
    for (const key of keys) {
      for (const holder of holders) {
        for (;;) {
          const pending = await this.#command(() =>
            this.#client.xpending(key, GROUP, "-", "+", 500, holder) as Promise<[string, string, number, number][]>
          ).catch(() => [] as [string, string, number, number][]);
          if (pending.length === 0) break;
          const ids = pending.map((p) => p[0]);
          const entries = await this.#command(() =>
            this.#client.xclaim(key, GROUP, holder, 0, ...ids) as Promise<[string, string[]][]>
          );
          const multi = this.#client.multi();
          for (const [, fields] of entries) multi.xadd(key, "*", ...fields);
          multi.xack(key, GROUP, ...ids).xdel(key, ...ids);
          await this.#command(() => multi.exec());
          moved += entries.length;
          if (pending.length < 500) break;
        }
        await this.#command(() => this.#client.xgroup("DELCONSUMER", key, GROUP, holder)).catch(() => {});
      }
    }
    return moved;
  }

  depth(queue: QueueName): Promise<number> {
    return this.#command(async () => {
      let n = 0;
      for (const lane of LANES) n += await this.#client.xlen(this.key(queue, lane));
      return n;
    });
  }

  close(): Promise<void> {
    this.#client.disconnect();
    return Promise.resolve();
  }
}
