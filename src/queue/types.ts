/** The queue interface and its messages, for the backends and their users. */
import { z } from "zod";

/** The two queues of the original: gather carries job ids, fetch carries object ids. */
export type QueueName = "gather" | "fetch";

/**
 * Each queue has two lanes. Consumers take from the fast lane first: manual runs, small sources and
 * the first objects of every job go there (`ckan.harvest.fast_lane.*`), so a big source's backlog on
 * the bulk lane never keeps a small source waiting.
 */
export type Lane = "fast" | "bulk";
export const LANES: readonly Lane[] = ["fast", "bulk"];

export const gatherMessage = z.object({ harvest_job_id: z.string().min(1) });
export const fetchMessage = z.object({ harvest_object_id: z.string().min(1) });
export type GatherMessage = z.infer<typeof gatherMessage>;
export type FetchMessage = z.infer<typeof fetchMessage>;

export interface ListenOptions {
  signal: AbortSignal;
  /** Messages handled at once by this listener. */
  concurrency?: number;
  /**
   * Seconds before a message whose handler threw is delivered again (`DEFAULT_RETRY_DELAY` unless given), instead of the
   * visibility timeout: the handler failed, so nobody is working on it.
   */
  retryDelay?: number;
}

/** `ListenOptions.retryDelay` when not given, in seconds (the default of `ckan.harvest.mq.retry_delay`). */
export const DEFAULT_RETRY_DELAY = 5;

/**
 * A message queue with at-least-once delivery: a message is removed only when its handler
 * resolves; when the handler throws or the process dies it is delivered again later.
 */
export interface Queue {
  /** Adds messages to one lane of a queue (the bulk lane unless told). */
  publish(queue: QueueName, bodies: string[], lane?: Lane): Promise<void>;
  /** Runs `handler` for each message until `signal` aborts, fast-lane messages before bulk ones. */
  listen(queue: QueueName, handler: (body: string) => Promise<void>, options: ListenOptions): Promise<void>;
  /** Removes every waiting message of both lanes; returns how many. */
  purge(queue: QueueName): Promise<number>;
  /** Messages waiting or being handled, both lanes. */
  depth(queue: QueueName): Promise<number>;
  /**
   * Makes the messages that these processes (`PROCESS_ID`s that stopped reporting alive) had taken
   * deliverable again now, instead of after the visibility timeout. RabbitMQ does this by itself when
   * a consumer's connection drops, so its backend has nothing to do.
   */
  releaseHolders?(holders: string[]): Promise<number>;
  close(): Promise<void>;
}
