/**
 * The conformance suite every queue backend passes against its real server: delivery, redelivery
 * after a failed handler, redelivery after a consumer is killed, purge, depth, and namespacing.
 */
import { assert, assertEquals } from "./assert.ts";
import type { Queue } from "../src/queue/mod.ts";
import { taskCommand } from "./task_flags.ts";

const ROOT = new URL("../", import.meta.url).pathname;

export interface Backend {
  name: string;
  /** A queue for a site id; `visibility` seconds (default: short) before unacknowledged messages come back. */
  open(siteId: string, visibility?: number): Promise<Queue>;
  /** Environment for a subprocess to open the same queue for `siteId`. */
  env(siteId: string): Record<string, string>;
}

async function collect(queue: Queue, expected: number, options: { concurrency?: number; ms?: number } = {}) {
  const got: string[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.ms ?? 20_000);
  await queue.listen("fetch", (body) => {
    got.push(body);
    if (got.length >= expected) controller.abort();
    return Promise.resolve();
  }, { signal: controller.signal, concurrency: options.concurrency ?? 4 });
  clearTimeout(timer);
  return got;
}

export function queueConformance(backend: Backend): void {
  const site = () => `t${crypto.randomUUID().slice(0, 8)}`;

  Deno.test(`${backend.name} queue: the messages a silent process held are delivered again at once, not after the visibility timeout`, async () => {
    const siteId = site();
    const queue = await backend.open(siteId, 300);
    try {
      if (!queue.releaseHolders) {
        // RabbitMQ delivers a dead consumer's messages again when its connection drops.
        assertEquals(backend.name, "amqp");
        return;
      }
      const bodies = Array.from({ length: 5 }, (_, i) => JSON.stringify({ harvest_object_id: `held${i}` }));
      await queue.publish("fetch", bodies);
      // This process takes them and never acknowledges them, as one killed mid-message would: its
      // handlers hang until the end of the test.
      const taken: string[] = [];
      const hanging: (() => void)[] = [];
      const controller = new AbortController();
      const listening = queue.listen("fetch", (body) => {
        taken.push(body);
        if (taken.length >= 5) controller.abort();
        return new Promise((_, reject) => hanging.push(() => reject(new Error("killed"))));
      }, { signal: controller.signal, concurrency: 5, retryDelay: 3600 });
      while (taken.length < 5) await new Promise((r) => setTimeout(r, 20));
      // Within the 300 s visibility timeout nothing comes back by itself...
      assertEquals((await collect(queue, 5, { ms: 1500 })).length, 0);
      // ...but once the holder is known silent, all of it does.
      const { PROCESS_ID } = await import("../src/db/consumers.ts");
      assertEquals(await queue.releaseHolders([PROCESS_ID]), 5);
      assertEquals((await collect(queue, 5, { ms: 5000 })).sort(), bodies.toSorted());
      // When the stale handlers fail at last, nothing handed on is delivered a second time.
      hanging.forEach((fail) => fail());
      await listening;
      assertEquals((await collect(queue, 1, { ms: 1500 })).length, 0);
    } finally {
      await queue.close();
    }
  });

  Deno.test(`${backend.name} queue: every published message is delivered once and acknowledged`, async () => {
    const queue = await backend.open(site());
    try {
      const bodies = Array.from({ length: 200 }, (_, i) => JSON.stringify({ harvest_object_id: `o${i}` }));
      await queue.publish("fetch", bodies.slice(0, 100));
      await queue.publish("fetch", bodies.slice(100));
      assertEquals(await queue.depth("fetch"), 200);
      const got = await collect(queue, 200);
      assertEquals(got.sort(), [...bodies].sort());
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(await queue.depth("fetch"), 0, "acknowledged messages are gone");
      assertEquals(await queue.depth("gather"), 0, "the gather queue is separate");
    } finally {
      await queue.close();
    }
  });

  Deno.test(`${backend.name} queue: a message whose handler fails is delivered again after the retry delay, not the visibility timeout`, async () => {
    const queue = await backend.open(site(), 300);
    try {
      await queue.publish("fetch", ["retry-me"]);
      let attempts = 0;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 20_000);
      await queue.listen("fetch", () => {
        attempts++;
        if (attempts === 1) return Promise.reject(new Error("database went away"));
        controller.abort();
        return Promise.resolve();
      }, { signal: controller.signal, retryDelay: 1 });
      clearTimeout(timer);
      assertEquals(attempts, 2);
    } finally {
      await queue.close();
    }
  });

  Deno.test(`${backend.name} queue: a consumer killed mid-message loses nothing`, async () => {
    const siteId = site();
    const queue = await backend.open(siteId);
    try {
      await queue.publish("fetch", ["survivor"]);
      const child = new Deno.Command(Deno.execPath(), {
        // A consumer of the product's queue code, with the harvester task's flags (as a worker runs).
        args: ["run", ...taskCommand("harvester").flags, `${ROOT}tests/fixtures/listen_and_hang.ts`],
        env: { ...backend.env(siteId), NO_COLOR: "1" },
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let output = "";
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      while (!output.includes("got survivor")) {
        const { value, done } = await reader.read();
        if (done) break;
        output += value;
      }
      assert(output.includes("got survivor"), "the doomed consumer received the message");
      child.kill("SIGKILL");
      await child.status;
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      const got = await collect(queue, 1, { ms: 30_000 });
      assertEquals(got, ["survivor"]);
    } finally {
      await queue.close();
    }
  });

  Deno.test(`${backend.name} queue: fast-lane messages are handled before the bulk lane's backlog`, async () => {
    const queue = await backend.open(site());
    try {
      const bulk = Array.from({ length: 40 }, (_, i) => `bulk${i}`);
      const fast = Array.from({ length: 5 }, (_, i) => `fast${i}`);
      await queue.publish("fetch", bulk);
      await queue.publish("fetch", fast, "fast");
      assertEquals(await queue.depth("fetch"), 45, "depth counts both lanes");
      const concurrency = 2;
      const got = await collect(queue, 45, { concurrency });
      assertEquals(got.toSorted(), [...bulk, ...fast].sort(), "every message of both lanes, once");
      // The fast messages came first: at most a round of bulk messages already in hand (two per slot,
      // on a broker that pushes) came before the last of them, not the 40 waiting ahead of them.
      const lastFast = Math.max(...fast.map((b) => got.indexOf(b)));
      assert(lastFast < fast.length + 2 * concurrency, `the last fast message was handled at position ${lastFast}`);
      // Purge empties both lanes.
      await queue.publish("fetch", ["a"], "fast");
      await queue.publish("fetch", ["b"]);
      assertEquals(await queue.purge("fetch"), 2);
      assertEquals(await queue.depth("fetch"), 0);
    } finally {
      await queue.close();
    }
  });

  Deno.test(`${backend.name} queue: purge removes waiting messages; names are namespaced by site id`, async () => {
    const a = await backend.open(site());
    const b = await backend.open(site());
    try {
      await a.publish("gather", ["j1", "j2", "j3"]);
      await b.publish("gather", ["other"]);
      assertEquals(await a.depth("gather"), 3);
      assertEquals(await a.purge("gather"), 3);
      assertEquals(await a.depth("gather"), 0);
      assertEquals(await b.depth("gather"), 1, "another site's queue is untouched");
      await b.purge("gather");
    } finally {
      await a.close();
      await b.close();
    }
  });
}
