/**
 * A broker that does not answer: commands give up within ckan.harvest.connect_timeout with one line
 * naming the host, the port and the config key; long-running workers say so, keep retrying, and stop
 * within 10 s of SIGTERM. CKAN's own `ckan.redis.url` reaches Redis when the mq keys are unset.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase, Proc, servicesOn } from "./helpers.ts";

/** A loopback port nothing listens on. */
function deadPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

for (const broker of ["redis", "amqp"] as const) {
  Deno.test(`a dead ${broker} broker: job and purge-queues fail fast naming it, no job is left Running, a worker stops on SIGTERM`, async () => {
    await using db = await freshDatabase();
    const port = deadPort();
    const base = { DATABASE_URL: db.url };
    await cli(["db", "upgrade"], base);
    const made = await cli(["source", "create", "src-down", "http://127.0.0.1:9/", "ckan", "--no-check-url"], base);
    assertEquals(made.code, 0, made.stderr);
    const env = {
      ...base,
      CKAN__HARVEST__MQ__TYPE: broker,
      CKAN__HARVEST__MQ__HOSTNAME: "127.0.0.1",
      CKAN__HARVEST__MQ__PORT: String(port),
      CKAN__HARVEST__CONNECT_TIMEOUT: "3",
    };
    const name = broker === "redis" ? "Redis" : "RabbitMQ";
    const line = new RegExp(
      `^Error: Cannot reach ${name} at 127\\.0\\.0\\.1:${port} within 3 s.*check ckan\\.harvest\\.mq\\.hostname and ` +
        `ckan\\.harvest\\.mq\\.port \\(and ckan\\.harvest\\.connect_timeout\\)\\n$`,
    );
    for (const args of [["job", "src-down"], ["purge-queues"]]) {
      const started = Date.now();
      const r = await cli(args, env);
      const took = Date.now() - started;
      assertEquals(r.code, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
      assertMatch(r.stderr, line);
      assert(took < 12_000, `${args[0]} gave up after ${took} ms`);
    }
    await using services = await servicesOn(db.url);
    const jobs = await services.sql`SELECT status FROM harvest_job`;
    assertEquals(jobs.length, 0, "a job the broker did not take is not left behind");

    const worker = new Proc("cli.ts", ["worker"], env);
    await worker.waitFor(new RegExp(`Cannot (read from|consume from) ${name} at "?127\\.0\\.0\\.1:${port}`), 30_000);
    const started = Date.now();
    const status = await worker.stop("SIGTERM");
    const took = Date.now() - started;
    assert(took < 10_000, `the worker stopped ${took} ms after SIGTERM`);
    assertEquals(status.code, 0, worker.output);
  });
}

Deno.test("ckan.redis.url alone reaches Redis for the redis queue, as ckanext-harvest reads it", async () => {
  await using db = await freshDatabase();
  const base = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], base);
  await cli(["source", "create", "src-down", "http://127.0.0.1:9/", "ckan", "--no-check-url"], base);
  const siteId = `redisurl${crypto.randomUUID().slice(0, 8)}`;
  const env = {
    ...base,
    CKAN__SITE_ID: siteId,
    CKAN__HARVEST__MQ__TYPE: "redis",
    CKAN__REDIS__URL: Deno.env.get("TEST_REDIS_URL")!,
  };
  const job = await cli(["job", "src-down"], env);
  assertEquals(job.code, 0, job.stderr);
  const purged = await cli(["purge-queues"], env);
  assertEquals(purged.code, 0, purged.stderr);
  assertMatch(purged.stdout, /Purged 1 gather and 0 fetch message\(s\)/);
});

Deno.test("a database that accepts the connection and never answers: commands give up within connect_timeout, naming it", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (silent.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of silent) held.push(conn); // accepted, never answered
  })().catch(() => {});
  try {
    const started = Date.now();
    const r = await cli(["sources"], {
      DATABASE_URL: `postgres://harvest@127.0.0.1:${port}/harvest`,
      CKAN__HARVEST__CONNECT_TIMEOUT: "2",
    });
    const took = Date.now() - started;
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertMatch(
      r.stderr,
      new RegExp(
        `^Error: Cannot reach the database at 127\\.0\\.0\\.1:${port}: no answer within 2 s; check DATABASE_URL`,
      ),
    );
    assert(took < 10_000, `gave up after ${took} ms`);
  } finally {
    for (const c of held) c.close();
    silent.close();
  }
});
