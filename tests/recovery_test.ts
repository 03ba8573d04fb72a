/**
 * Recovery in seconds, on every backend, with default settings (the visibility timeout stays 300 s):
 * two workers (the CLI with the harvester task's flags) harvest a slow Web Accessible Folder; one is
 * killed with SIGKILL while it holds objects; the other releases that work within 15 s, because the
 * dead one stopped heartbeating, and the job finishes with every dataset exactly once. The live
 * worker's own slow work (each lot takes longer than `dead_after`) is never taken from it.
 */
import { assert, assertEquals } from "./assert.ts";
import { cli, freshDatabase, Proc, servicesOn } from "./helpers.ts";

const FILES = 20;
const DELAY_MS = 500;
/** Some files take longer than `dead_after` (10 s): slow work a live worker must keep. */
const SLOW = (i: number) => i % 10 === 5;
const SLOW_MS = 11_000;
const RECORD = Deno.readTextFileSync(new URL("./fixtures/iso/pycsw-3e9a8c05.xml", import.meta.url));

/** A WAF whose listing is dated (so files are fetched by the fetch stage) and whose files are slow. */
function slowWaf() {
  const stamp = "01-Dec-2026 10:00";
  const listing = `<html><body><pre>${
    Array.from({ length: FILES }, (_, i) => `<a href="r${i}.xml">r${i}.xml</a>      ${stamp}   8344`).join("\n")
  }</pre></body></html>`;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const m = new URL(req.url).pathname.match(/^\/r(\d+)\.xml$/);
    if (!m) return new Response(listing, { headers: { "Content-Type": "text/html" } });
    await new Promise((r) => setTimeout(r, SLOW(Number(m[1])) ? SLOW_MS : DELAY_MS));
    return new Response(RECORD.replaceAll("3e9a8c05", `slow-${m[1]}`), { headers: { "Content-Type": "text/xml" } });
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, close: () => server.shutdown() };
}

const BACKENDS: Record<string, () => Record<string, string>> = {
  postgres: () => ({ CKAN__HARVEST__MQ__TYPE: "postgres" }),
  redis: () => ({ CKAN__HARVEST__MQ__TYPE: "redis", CKAN__HARVEST__MQ__URL: Deno.env.get("TEST_REDIS_URL")! }),
  amqp: () => ({ CKAN__HARVEST__MQ__TYPE: "amqp", CKAN__HARVEST__MQ__URL: Deno.env.get("TEST_AMQP_URL")! }),
};

for (const [backend, settings] of Object.entries(BACKENDS)) {
  Deno.test(`${backend}: the work of a killed worker moves on within 15 s with default settings; a slow live worker keeps its own`, async () => {
    await using db = await freshDatabase();
    const waf = slowWaf();
    const env = {
      DATABASE_URL: db.url,
      CKAN__SITE_ID: `recovery${crypto.randomUUID().slice(0, 8)}`,
      CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true",
      HARVEST_LOG_LEVEL: "warning",
      // Lots of one object: each worker holds at most its --concurrency of them, so both share the job.
      CKAN__HARVEST__FETCH__LOT_SIZE: "1",
      ...settings(),
    };
    const procs: Proc[] = [];
    try {
      assertEquals((await cli(["db", "upgrade"], env)).code, 0);
      assertEquals((await cli(["source", "create", "slow", waf.url, "waf"], env)).code, 0);
      const doomed = new Proc("cli.ts", ["worker", "--concurrency", "2"], env);
      const survivor = new Proc("cli.ts", ["worker", "--concurrency", "2"], env);
      procs.push(doomed, survivor);
      await doomed.waitFor(/worker started/);
      await survivor.waitFor(/worker started/);
      const job = JSON.parse((await cli(["--json", "job", "slow"], env)).stdout).id as string;
      await using services = await servicesOn(db.url, env);
      const { sql } = services;
      const heldBy = async (pid: number) =>
        (await sql<{ id: string }[]>`SELECT id FROM harvest_object WHERE harvest_job_id = ${job}
          AND leased_by LIKE ${`%:${pid}:%`} AND lease_until > now() AND state IN ('FETCH', 'IMPORT')`).map((r) =>
          r.id
        );
      // Kill the doomed worker once it holds objects.
      let held: string[] = [];
      const deadline = Date.now() + 60_000;
      while (held.length === 0 && Date.now() < deadline) {
        held = await heldBy(doomed.child.pid);
        if (held.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      assert(held.length > 0, "the worker to kill took objects");
      const killed = performance.now();
      await doomed.stop("SIGKILL");
      // What it held when it died: it may have claimed more between the read above and the kill, and a
      // claim it had sent just before dying still commits (PostgreSQL finishes the statement first), so
      // read again once such a statement is surely done; its leases go only after dead_after (10 s).
      await new Promise((r) => setTimeout(r, 500));
      held = [...new Set([...held, ...await heldBy(doomed.child.pid)])];
      // Its leases are released (and the work queued again) once it has been silent for dead_after.
      let released = Number.NaN;
      while (performance.now() - killed < 60_000) {
        if ((await heldBy(doomed.child.pid)).length === 0) {
          released = (performance.now() - killed) / 1000;
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      console.log(`${backend}: ${held.length} object(s) of the killed worker released after ${released.toFixed(1)} s`);
      assert(released < 15, `released within 15 s, not ${released} s`);

      let status = "";
      while (performance.now() - killed < 120_000) {
        status = (await sql<{ status: string }[]>`SELECT status FROM harvest_job WHERE id = ${job}`)[0]!.status;
        if (status === "Finished") break;
        await new Promise((r) => setTimeout(r, 300));
      }
      assertEquals(status, "Finished", survivor.output.slice(-2000));
      const [counts] = await sql<{ packages: number; complete: number }[]>`
        SELECT (SELECT count(*)::int FROM package WHERE state = 'active') AS packages,
          (SELECT count(*)::int FROM harvest_object WHERE harvest_job_id = ${job} AND state = 'COMPLETE') AS complete`;
      assertEquals([counts!.packages, counts!.complete], [FILES, FILES], "every dataset exactly once");
      // Only the killed worker's objects were claimed twice: the live worker's work on files slower
      // than dead_after was never taken from it.
      const retried = await sql<{ id: string; guid: string }[]>`
        SELECT id, guid FROM harvest_object WHERE harvest_job_id = ${job} AND retry_times > 1`;
      assertEquals(retried.filter((r) => !held.includes(r.id)), [], "no live worker's object was claimed again");
      const slowOnes = await sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM harvest_object WHERE harvest_job_id = ${job} AND retry_times = 1
          AND guid ~ ${`/r(${Array.from({ length: FILES }, (_, i) => i).filter(SLOW).join("|")})\.xml$`}`;
      assert(slowOnes[0]!.n > 0, "a live worker held a file slower than dead_after, and kept it");
    } finally {
      for (const p of procs) if (!p.exited) await p.stop("SIGTERM");
      await waf.close();
    }
  });
}
