/**
 * A lot whose database session ends under it, the worker alive: on every backend, with default
 * settings (the visibility timeout stays 300 s), the worker gives its leases up at once and the lot's
 * messages come back after `ckan.harvest.mq.retry_delay` (5 s), so the job finishes in seconds.
 *
 * How the session ends is what a host frozen longer than `idle_in_transaction_timeout` meets when it
 * thaws (bench/multihost.ts `pause`), made deterministic: the test holds an uncommitted dataset with
 * the name of one remote record, so the worker's lot waits on it inside its import transaction; the
 * test then ends that worker's session (`pg_terminate_backend`) and rolls its own back. Without the
 * release the objects stay leased to a live worker, which recovery leaves alone, for 300 s.
 */
import { assert, assertEquals } from "./assert.ts";
import { cli, freshDatabase, Proc, servicesOn } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

const N = 60;

const BACKENDS: Record<string, () => Record<string, string>> = {
  postgres: () => ({ CKAN__HARVEST__MQ__TYPE: "postgres" }),
  redis: () => ({ CKAN__HARVEST__MQ__TYPE: "redis", CKAN__HARVEST__MQ__URL: Deno.env.get("TEST_REDIS_URL")! }),
  amqp: () => ({ CKAN__HARVEST__MQ__TYPE: "amqp", CKAN__HARVEST__MQ__URL: Deno.env.get("TEST_AMQP_URL")! }),
};

for (const [backend, settings] of Object.entries(BACKENDS)) {
  Deno.test(`${backend}: a lot whose database session ends while its worker lives is delivered again within seconds`, async () => {
    await using db = await freshDatabase();
    const remote = serveCkanCatalog(sampleCatalog({ count: N, seed: 41 }));
    const env = {
      DATABASE_URL: db.url,
      CKAN__SITE_ID: `lost${crypto.randomUUID().slice(0, 8)}`,
      HARVEST_LOG_LEVEL: "warning",
      ...settings(),
    };
    const procs: Proc[] = [];
    try {
      assertEquals((await cli(["db", "upgrade"], env)).code, 0);
      const created = await cli(["source", "create", "lost", remote.url, "ckan"], env);
      assertEquals(created.code, 0, created.stderr);
      await using services = await servicesOn(db.url, env);
      const sql = services.sql;
      // An uncommitted dataset with a remote record's name: the worker's lot waits on it.
      const blocker = await sql.reserve();
      await blocker`BEGIN`;
      await blocker`INSERT INTO package (id, name) VALUES (${crypto.randomUUID()}, ${
        String(remote.catalog.datasets[0]!.name)
      })`;
      const worker = new Proc("cli.ts", ["worker", "--concurrency", "1"], env);
      const scheduler = new Proc("cli.ts", ["scheduler", "--interval", "1"], env);
      procs.push(worker, scheduler);
      const job = await cli(["--json", "job", "lost"], env);
      assertEquals(job.code, 0, job.stderr);
      const jobId = JSON.parse(job.stdout).id as string;
      let waiting: number | undefined;
      for (let i = 0; i < 600 && waiting === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const [row] = await sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO package%'`;
        waiting = row?.pid;
      }
      assert(waiting !== undefined, `the worker's lot never waited on the held name:\n${worker.output}`);
      await sql`SELECT pg_terminate_backend(${waiting})`;
      const ended = Date.now();
      await blocker`ROLLBACK`;
      blocker.release();
      let status = "Running";
      while (status !== "Finished" && Date.now() - ended < 60_000) {
        await new Promise((r) => setTimeout(r, 250));
        const [row] = await sql<{ status: string }[]>`SELECT status FROM harvest_job WHERE id = ${jobId}`;
        status = row!.status;
      }
      const seconds = (Date.now() - ended) / 1000;
      if (status !== "Finished") {
        const objects = await sql`SELECT state, count(*)::int AS n, max(lease_until) AS lease, max(leased_by) AS holder
          FROM harvest_object GROUP BY 1`;
        const queue = await sql`SELECT queue, count(*)::int AS n, max(locked_until) AS locked, max(deliveries) AS d
          FROM harvest_queue GROUP BY 1`;
        console.error(JSON.stringify({ objects, queue }));
      }
      assertEquals(status, "Finished", `${worker.output}\n${scheduler.output}`);
      // The retry delay (5 s), a claim and a lot's import, and the finish check.
      assert(seconds < 20, `the job finished ${seconds} s after the session ended`);
      assert(/lease\(s\) released, delivered again shortly/.test(worker.output), worker.output);
      const [counts] = await sql<{ packages: number; added: number; errored: number }[]>`
        SELECT (SELECT count(*)::int FROM package) AS packages,
          (SELECT count(*)::int FROM harvest_object WHERE report_status = 'added') AS added,
          (SELECT count(*)::int FROM harvest_object WHERE report_status = 'errored') AS errored`;
      assertEquals(counts, { packages: N, added: N, errored: 0 });
    } finally {
      await Promise.all(procs.map((p) => p.stop("SIGKILL")));
      await remote.close();
    }
  });
}
