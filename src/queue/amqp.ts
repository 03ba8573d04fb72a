import { type ChannelModel, type ConfirmChannel, connect, type ConsumeMessage } from "amqplib";
import { Buffer } from "node:buffer";
import { getLogger } from "@logtape/logtape";
import { DEFAULT_RETRY_DELAY, type Lane, LANES, type ListenOptions, type Queue, type QueueName } from "./types.ts";
import { backoff, brokerAddress, sleep, untilAborted, within } from "./retry.ts";
import { UnavailableError } from "../errors/mod.ts";

const log = getLogger(["harvest", "queue", "amqp"]);
const EXCHANGE = "ckan.harvest";
const HEARTBEAT_SECONDS = 5;

export interface AmqpQueueOptions {
  url?: string;
  host: string;
  port: number;
  user: string;
  password: string;
  vhost: string;
  siteId: string;
  /** How long a command waits for RabbitMQ before it fails with a message naming the address. */
  connectTimeoutMs?: number;
}

/**
 * RabbitMQ through amqplib, with the original's names: a durable direct exchange `ckan.harvest`,
 * durable queues `ckan.harvest.<site>.gather` and `.fetch`, persistent messages. Consumers set a
 * prefetch equal to their concurrency and acknowledge after the database commit; a consumer that
 * dies leaves its unacknowledged messages to the broker, which delivers them again. Connections are
 * re-established with backoff.
 */
export class AmqpQueue implements Queue {
  #options: AmqpQueueOptions;
  #publisher: Promise<{ model: ChannelModel; channel: ConfirmChannel }> | undefined;

  constructor(options: AmqpQueueOptions) {
    this.#options = options;
  }

  #url(): string {
    const o = this.#options;
    const vhost = encodeURIComponent(o.vhost);
    const url = new URL(
      o.url ?? `amqp://${encodeURIComponent(o.user)}:${encodeURIComponent(o.password)}@${o.host}:${o.port}/${vhost}`,
    );
    // Heartbeats every 5 s (unless the URL asks otherwise): the broker then hands a consumer's
    // unacknowledged messages on about 10 s after its machine died or was cut off, not after the
    // server's default of a minute or more.
    if (!url.searchParams.has("heartbeat")) url.searchParams.set("heartbeat", String(HEARTBEAT_SECONDS));
    return url.toString();
  }

  /** The bulk lane keeps the original's queue name; the fast lane adds `.fast`. */
  queueName(queue: QueueName, lane: Lane = "bulk"): string {
    return `ckan.harvest.${this.#options.siteId}.${queue}${lane === "fast" ? ".fast" : ""}`;
  }

  #routingKey(queue: QueueName, lane: Lane = "bulk"): string {
    const id = queue === "gather" ? "harvest_job_id" : "harvest_object_id";
    return `ckanext-harvest:${this.#options.siteId}:${id}${lane === "fast" ? ":fast" : ""}`;
  }

  /** `host:port` of the broker, without any password. */
  get address(): string {
    return brokerAddress(this.#options, 5672);
  }

  get #timeoutMs(): number {
    return this.#options.connectTimeoutMs ?? 15_000;
  }

  #unavailable(cause?: unknown): UnavailableError {
    const why = cause ? `: ${(cause as Error).message ?? String(cause)}` : "";
    const keys = this.#options.url ? "ckan.harvest.mq.url" : "ckan.harvest.mq.hostname and ckan.harvest.mq.port";
    return new UnavailableError(
      `Cannot reach RabbitMQ at ${this.address} within ${Math.round(this.#timeoutMs / 1000)} s${why}; check ${keys} ` +
        "(and ckan.harvest.connect_timeout)",
    );
  }

  async #open(): Promise<{ model: ChannelModel; channel: ConfirmChannel }> {
    const opening = this.#openUnbounded();
    // A connection that opens after we gave up must not linger and keep the process alive.
    return await within(opening, this.#timeoutMs, () => {
      opening.then(({ model }) => model.close(), () => {}).catch(() => {});
      return this.#unavailable();
    }).catch((error) => {
      throw error instanceof UnavailableError ? error : this.#unavailable(error);
    });
  }

  async #openUnbounded(): Promise<{ model: ChannelModel; channel: ConfirmChannel }> {
    const model = await connect(this.#url(), { timeout: Math.min(this.#timeoutMs, 10_000) });
    model.on("error", (error: Error) => log.debug("AMQP connection problem: {error}", { error: error.message }));
    const channel = await model.createConfirmChannel();
    channel.on("error", () => {});
    await channel.assertExchange(EXCHANGE, "direct", { durable: true });
    for (const q of ["gather", "fetch"] as const) {
      for (const lane of LANES) {
        await channel.assertQueue(this.queueName(q, lane), { durable: true });
        await channel.bindQueue(this.queueName(q, lane), EXCHANGE, this.#routingKey(q, lane));
      }
    }
    return { model, channel };
  }

  async #publisherChannel(): Promise<ConfirmChannel> {
    if (!this.#publisher) {
      const opening = this.#open();
      this.#publisher = opening;
      opening.then(({ model }) => {
        const reset = () => {
          if (this.#publisher === opening) this.#publisher = undefined;
        };
        model.on("close", reset);
        model.on("error", reset);
      }, () => {
        if (this.#publisher === opening) this.#publisher = undefined;
      });
    }
    return (await this.#publisher).channel;
  }

  async publish(queue: QueueName, bodies: string[], lane: Lane = "bulk"): Promise<void> {
    if (bodies.length === 0) return;
    const deadline = Date.now() + this.#timeoutMs;
    for (let attempt = 1;; attempt++) {
      try {
        const channel = await this.#publisherChannel();
        for (const body of bodies) {
          channel.publish(EXCHANGE, this.#routingKey(queue, lane), Buffer.from(body), { persistent: true });
        }
        await channel.waitForConfirms();
        return;
      } catch (error) {
        this.#publisher = undefined;
        if (Date.now() + backoff(attempt) > deadline) {
          throw error instanceof UnavailableError ? error : this.#unavailable(error);
        }
        await sleep(backoff(attempt));
      }
    }
  }

  async listen(queue: QueueName, handler: (body: string) => Promise<void>, options: ListenOptions): Promise<void> {
    const concurrency = options.concurrency ?? 1;
    let failures = 0;
    while (!options.signal.aborted) {
      let opened: { model: ChannelModel; channel: ConfirmChannel } | undefined;
      try {
        opened = await untilAborted(this.#open(), options.signal);
        if (!opened) return;
        const { model, channel } = opened;
        failures = 0;
        const inFlight = new Set<Promise<void>>();
        const delivered: Record<Lane, ConsumeMessage[]> = { fast: [], bulk: [] };
        const retryDelay = (options.retryDelay ?? DEFAULT_RETRY_DELAY) * 1000;
        const pump = () => {
          while (inFlight.size < concurrency) {
            const message = delivered.fast.shift() ?? delivered.bulk.shift();
            if (!message) return;
            const task = handler(message.content.toString())
              // A failed handler's message goes back after the retry delay (at once on shutdown).
              .then(
                () => channel.ack(message),
                () => sleep(retryDelay, options.signal).then(() => channel.nack(message, false, true)),
              )
              .catch(() => {/* the channel closed: the broker delivers the message again */})
              .finally(() => {
                inFlight.delete(task);
                pump();
              });
            inFlight.add(task);
          }
        };
        const closed = new Promise<void>((resolve) => {
          model.on("close", () => resolve());
          channel.on("close", () => resolve());
        });
        const tags: string[] = [];
        for (const lane of LANES) {
          // Per consumer (RabbitMQ's reading of a non-global prefetch): the bulk lane delivers at most
          // `concurrency` messages ahead, the fast lane twice that, so that while its next messages are
          // on their way, the bulk ones in hand do not take every slot. This process starts what it
          // holds fast-lane first, `concurrency` at once.
          await channel.prefetch(lane === "fast" ? 2 * concurrency : concurrency);
          const { consumerTag } = await channel.consume(this.queueName(queue, lane), (message) => {
            if (!message) return;
            delivered[lane].push(message);
            // Messages that arrive together are all queued before any starts, so fast ones go first.
            queueMicrotask(pump);
          }, { noAck: false });
          tags.push(consumerTag);
        }
        const aborted = new Promise<void>((resolve) => {
          if (options.signal.aborted) resolve();
          else options.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        await Promise.race([closed, aborted]);
        if (options.signal.aborted) {
          for (const tag of tags) await channel.cancel(tag).catch(() => {});
          // Delivered but never started: the broker gives them to another consumer.
          for (const message of [...delivered.fast.splice(0), ...delivered.bulk.splice(0)]) {
            channel.nack(message, false, true);
          }
          await Promise.allSettled(inFlight);
          await model.close().catch(() => {});
          return;
        }
        log.warning("AMQP connection lost; reconnecting");
      } catch (error) {
        failures++;
        log.warning("Cannot consume from RabbitMQ at {address} ({failures}), retrying: {error}", {
          address: this.address,
          failures,
          error: (error as Error).message,
        });
        await opened?.model.close().catch(() => {});
        await sleep(backoff(failures), options.signal);
      }
    }
  }

  purge(queue: QueueName): Promise<number> {
    return this.#sumOverLanes(queue, (channel, name) => channel.purgeQueue(name));
  }

  depth(queue: QueueName): Promise<number> {
    return this.#sumOverLanes(queue, (channel, name) => channel.checkQueue(name));
  }

  /** Adds up the message counts one queue operation answers for each lane of `queue`. */
  async #sumOverLanes(
    queue: QueueName,
    operation: (channel: ConfirmChannel, name: string) => Promise<{ messageCount: number }>,
  ): Promise<number> {
    const channel = await this.#publisherChannel();
    let n = 0;
    for (const lane of LANES) {
      const { messageCount } = await within(
        operation(channel, this.queueName(queue, lane)),
        this.#timeoutMs,
        () => this.#unavailable(),
      );
      n += messageCount;
    }
    return n;
  }

  async close(): Promise<void> {
    const publisher = this.#publisher;
    this.#publisher = undefined;
    if (publisher) await publisher.then(({ model }) => model.close()).catch(() => {});
  }
}
