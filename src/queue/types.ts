/** The queue interface and its messages, for the backends and their users. */
import { z } from "zod";

/** The two queues of the original: gather carries job ids, fetch carries object ids. */
export type QueueName = "gather" | "fetch";

export const gatherMessage = z.object({ harvest_job_id: z.string().min(1) });
export const fetchMessage = z.object({ harvest_object_id: z.string().min(1) });
export type GatherMessage = z.infer<typeof gatherMessage>;
export type FetchMessage = z.infer<typeof fetchMessage>;

export interface ListenOptions {
  signal: AbortSignal;
  /** Messages handled at once by this listener. */
  concurrency?: number;
}

/**
 * A message queue with at-least-once delivery: a message is removed only when its handler
 * resolves; when the handler throws or the process dies it is delivered again later.
 */
export interface Queue {
  publish(queue: QueueName, bodies: string[]): Promise<void>;
  /** Runs `handler` for each message until `signal` aborts. */
  listen(queue: QueueName, handler: (body: string) => Promise<void>, options: ListenOptions): Promise<void>;
  /** Removes every waiting message; returns how many. */
  purge(queue: QueueName): Promise<number>;
  depth(queue: QueueName): Promise<number>;
  /**
   * Makes the messages that these processes (`PROCESS_ID`s that stopped reporting alive) had taken
   * deliverable again now, instead of after the visibility timeout. RabbitMQ does this by itself when
   * a consumer's connection drops, so its backend has nothing to do.
   */
  releaseHolders?(holders: string[]): Promise<number>;
  close(): Promise<void>;
}
