/**
 * Scale-out across hosts (issue 19), through the multi-host harness (bench/multihost.ts): simulated
 * hosts in network namespaces made by the test (as root), PostgreSQL, Redis and RabbitMQ on an
 * infrastructure host, the remote catalog on its own, workers and schedulers on three worker hosts,
 * every product process with the harvester task's flags. For each queue backend, a worker host is
 * killed and cut off a third into a job, and another is cut off for longer than `dead_after` and
 * healed, and on PostgreSQL a third is frozen (SIGSTOP) mid-transaction and thawed: every dataset is
 * imported exactly once and the job ends within a bounded time. Workers on three hosts keep
 * to one remote's per-host limit together. (That a thawed worker's stale imports are refused is shown
 * on its own in tests/lot_import_test.ts, which fails without the fence.)
 *
 * The suite runs it on 5,000 datasets; `deno task multihost` runs it on 20,000 for the README's figures.
 */
import { assert, assertEquals } from "./assert.ts";
import type { ScenarioResult } from "../bench/multihost.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const N = 5000;

Deno.test("multi-host: a worker host killed, another partitioned and healed, on every backend; one frozen and thawed; politeness across hosts", async () => {
  assertEquals(Deno.uid(), 0, "the harness makes network namespaces, which needs root (as .ci/run is)");
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A", // allow-all: the harness driver (ip netns, its own servers), not a product process
      `${ROOT}bench/multihost.ts`,
      "--net",
      "1",
      "--datasets",
      String(N),
      "--backends",
      "postgres,redis,amqp",
      "--scenarios",
      "death,partition,pause@postgres,politeness@postgres",
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const errors = new TextDecoder().decode(out.stderr);
  const line = text.split("\n").find((l) => l.startsWith("RESULT "));
  assert(line, `no RESULT line:\n${text}\n${errors.slice(-5000)}`);
  const results = JSON.parse(line.slice("RESULT ".length)) as ScenarioResult[];
  console.log(text.split("\n").filter((l) => !l.startsWith("RESULT ")).join("\n"));
  assertEquals(results.map((r) => `${r.backend} ${r.scenario}`), [
    "postgres death",
    "postgres partition",
    "postgres pause",
    "postgres politeness",
    "redis death",
    "redis partition",
    "amqp death",
    "amqp partition",
  ], errors.slice(-5000));
  for (const r of results) {
    const what = `${r.backend} ${r.scenario}`;
    assert(r.finished, `${what}: the job did not finish`);
    // Exactly once: as many datasets as records, each added by one object, none in error.
    assertEquals(r.packages, r.datasets, `${what}: datasets in the catalog`);
    assertEquals(r.added, r.datasets, `${what}: objects reported added`);
    assertEquals(r.distinctAdded, r.datasets, `${what}: records added`);
    assertEquals(r.errored, 0, `${what}: objects in error`);
    if (r.scenario === "death" || r.scenario === "partition" || r.scenario === "pause") {
      // dead_after (10 s) + a heartbeat (3 s) + the work left; a dead transaction's rows at most
      // idle_in_transaction_timeout (30 s).
      assert(r.released !== undefined && r.released < 45, `${what}: leases released after ${r.released} s`);
      assert(r.afterDisruption !== undefined && r.afterDisruption < 120, `${what}: ended ${r.afterDisruption} s after`);
    }
    if (r.scenario === "politeness") assert(r.most! <= r.limit!, `${what}: ${r.most} requests at once`);
  }
});
