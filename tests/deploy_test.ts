/**
 * Deployment without Docker: the processes of compose.yaml (and the Dockerfile's default command and
 * health check) started here with their exact commands and permission flags, only host names, ports
 * and paths swapped for the test's, serve and harvest together.
 */
import { parse as parseYaml } from "yaml";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { freshDatabase, tempDir } from "./helpers.ts";
import { permissionFlags, type ProductTask, taskCommand } from "./task_flags.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const read = (path: string) => Deno.readTextFileSync(`${ROOT}/${path}`);

interface ComposeService {
  command: string[];
  environment: Record<string, string>;
}

/** The JSON-array instruction of a Dockerfile line (`CMD [...]`, `HEALTHCHECK ... CMD [...]`). */
function dockerArray(dockerfile: string, instruction: RegExp): string[] {
  const joined = dockerfile.replace(/\\\n/g, " ");
  // The default image is the last stage (the release stage before it has its own CMD).
  const line = joined.split("\n").findLast((l) => instruction.test(l));
  assert(line, `the Dockerfile has ${instruction}`);
  return JSON.parse(line.slice(line.indexOf("[")));
}

class Process {
  readonly child: Deno.ChildProcess;
  output = "";
  #done: Promise<void>;
  constructor(readonly name: string, command: string[], env: Record<string, string>) {
    assertEquals(command[0], "deno", `${name} runs deno`);
    this.child = new Deno.Command(Deno.execPath(), {
      args: command.slice(1),
      cwd: ROOT,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s.pipeThrough(new TextDecoderStream())) this.output += chunk;
    };
    this.#done = Promise.all([pump(this.child.stdout), pump(this.child.stderr)]).then(() => {});
  }
  async waitFor(pattern: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const m = this.output.match(pattern);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name}: timed out waiting for ${pattern}; output:\n${this.output}`);
  }
  async stop(): Promise<number> {
    try {
      this.child.kill("SIGTERM");
    } catch { /* gone */ }
    const status = await this.child.status;
    await this.#done;
    return status.code;
  }
}

Deno.test("the Dockerfile, compose, the systemd units and the README use exactly the deno.json tasks' permission flags", () => {
  const compose = parseYaml(read("compose.yaml"), { merge: true }) as {
    services: Record<string, ComposeService & { healthcheck?: { test: string[] } }>;
  };
  const dockerfile = read("Dockerfile");
  const flagsOf = (task: ProductTask) => permissionFlags(taskCommand(task).flags);
  const scriptTask: Record<string, ProductTask> = {
    "main.ts": "serve",
    "cli.ts": "harvester",
    "scripts/healthcheck.ts": "healthcheck",
  };
  const commands: [string, string[]][] = [
    ["Dockerfile CMD", dockerArray(dockerfile, /^CMD \[/)],
    ["Dockerfile HEALTHCHECK", dockerArray(dockerfile, /^HEALTHCHECK /)],
    ...Object.entries(compose.services).flatMap(([name, s]) => [
      ...(s.command ? [[`compose ${name}`, s.command] as [string, string[]]] : []),
      ...(s.healthcheck && s.healthcheck.test[1] === "deno"
        ? [[`compose ${name} healthcheck`, s.healthcheck.test.slice(1)] as [string, string[]]]
        : []),
    ]),
    ...Deno.readDirSync(`${ROOT}/deploy/systemd`).map((e): [string, string[]] => [
      `systemd ${e.name}`,
      read(`deploy/systemd/${e.name}`).match(/^ExecStart=\S+ (.+)$/m)![1]!.split(" ").map((w) => w),
    ]).toArray(),
    ["README deno install", read("README.md").match(/`(deno install -g [^`]+)`/)![1]!.split(" ")],
  ];
  let checked = 0;
  for (const [where, words] of commands) {
    const script = words.find((w) => w in scriptTask);
    if (!script) continue; // postgres, redis: not ours
    assertEquals(permissionFlags(words), flagsOf(scriptTask[script]!), `${where} drifted from the deno.json task`);
    checked++;
  }
  assert(checked >= 10, `checked ${checked} commands`);
  // And the tasks themselves never grant everything.
  for (const task of ["serve", "harvester", "demo", "healthcheck"] as const) {
    const all = (f: string) => f === "-A" || f === "--allow-all"; // allow-all: named here only to refuse it
    assert(!flagsOf(task).some(all), `${task} grants every permission`);
  }
});

Deno.test("the compose and Dockerfile processes, started with their own commands and flags, serve and harvest", async () => {
  const compose = parseYaml(read("compose.yaml"), { merge: true }) as { services: Record<string, ComposeService> };
  const dockerfile = read("Dockerfile");
  const cmd = dockerArray(dockerfile, /^CMD \[/);
  const healthcheck = dockerArray(dockerfile, /^HEALTHCHECK /);
  const { api, worker, scheduler } = compose.services;
  assert(api && worker && scheduler, "compose has api, worker and scheduler");
  assertEquals(api.command, cmd, "the compose api runs the image's default command");
  // systemd units use the same flags, with the install paths of a machine.
  for (const unit of ["harvest-api.service", "harvest-worker@.service", "harvest-scheduler.service"]) {
    const exec = read(`deploy/systemd/${unit}`).match(/^ExecStart=\S+ (.+)$/m)![1]!;
    const flags = exec.replaceAll("/opt/harvest", "/app").replaceAll("/var/lib/harvest", "/data").split(" ");
    assertEquals(flags.slice(0, 9), api.command.slice(1, 10), `${unit} uses the container's flags`);
  }

  await using db = await freshDatabase();
  using data = tempDir();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 150, seed: 8 }));
  const siteId = `deploy-${crypto.randomUUID().slice(0, 8)}`;
  const swap = (args: string[]) =>
    args.map((a) => a.replaceAll("/app", ROOT).replaceAll("/data", data.path)).map((a) => /^91\d\d$/.test(a) ? "0" : a);
  const envOf = (service: ComposeService, extra: Record<string, string> = {}) => ({
    ...service.environment,
    DATABASE_URL: db.url,
    CKAN__HARVEST__MQ__URL: Deno.env.get("TEST_REDIS_URL")!,
    CKAN__SITE_ID: siteId,
    CKAN__HARVEST__ALLOWED_HOSTS: "127.0.0.1",
    HOST: "127.0.0.1",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    PATH: Deno.env.get("PATH") ?? "/usr/bin",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    ...extra,
  });

  const procs: Process[] = [];
  try {
    const server = new Process("api", swap(api.command), envOf(api, { PORT: "0" }));
    procs.push(server);
    const base = (await server.waitFor(/Harvest service on (http:\/\/\S+)/))[1]!;
    const port = new URL(base).port;
    const health = await new Deno.Command(Deno.execPath(), {
      args: swap(healthcheck).slice(1),
      cwd: ROOT,
      env: { PORT: port },
      clearEnv: true,
      stderr: "piped",
    }).output();
    assertEquals(health.code, 0, `HEALTHCHECK: ${new TextDecoder().decode(health.stderr)}`);

    const workers = [1, 2].map((n) => new Process(`worker ${n}`, swap(worker.command), envOf(worker)));
    const sched = new Process("scheduler", swap(scheduler.command), envOf(scheduler));
    procs.push(...workers, sched);
    const workerMetrics = (await workers[0]!.waitFor(/metrics on (http:\/\/\S+)\/metrics/))[1]!;
    await sched.waitFor(/scheduler started/);

    // The CLI as the Dockerfile documents it: the worker's flags, another command.
    const cliArgs = swap(worker.command).slice(0, worker.command.indexOf("cli.ts") + 1);
    const runCli = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [...cliArgs.slice(1), ...args],
        cwd: ROOT,
        env: envOf(worker),
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, text);
      return text;
    };
    await runCli("source", "create", "deployed", remote.url, "ckan");
    await runCli("job", "deployed");

    const deadline = Date.now() + 60_000;
    let metrics = "";
    while (Date.now() < deadline) {
      metrics = await (await fetch(`${base}/metrics`)).text();
      if (/^harvest_jobs\{status="Finished"\} 1$/m.test(metrics)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assertMatch(metrics, /^harvest_jobs\{status="Finished"\} 1$/m);
    // The job finishes inside the handling of its last messages; their acknowledgements follow.
    while (Date.now() < deadline && !/^harvest_queue_depth\{queue="fetch"\} 0$/m.test(metrics)) {
      await new Promise((r) => setTimeout(r, 250));
      metrics = await (await fetch(`${base}/metrics`)).text();
    }
    assertMatch(metrics, /^harvest_consumers_alive\{kind="worker"\} 2$/m);
    assertMatch(metrics, /^harvest_consumers_alive\{kind="scheduler"\} 1$/m);
    assertMatch(metrics, /^harvest_queue_depth\{queue="fetch"\} 0$/m);
    const search = await (await fetch(`${base}/api/3/action/package_search?rows=0`)).json();
    assertEquals(search.result.count, 150);

    const fromWorkers = await Promise.all(
      workers.map(async (w) => {
        const url = (await w.waitFor(/metrics on (http:\/\/\S+)\/metrics/))[1]!;
        return await (await fetch(`${url}/metrics`)).text();
      }),
    );
    assert(
      fromWorkers.some((m) =>
        /harvest_remote_request_duration_seconds_count\{source="deployed",host="127\.0\.0\.1:\d+"\} \d+/.test(m)
      ),
      "a worker reports its remote requests by source",
    );
    const workerHealth = await fetch(`${workerMetrics}/healthz`);
    assertEquals(await workerHealth.json(), { status: "ok", database: "ok", queue: "ok" });
    assertEquals((await (await fetch(`${base}/readyz`)).json()).schema, "ok");
    // JSON logs, as compose asks.
    const line = server.output.split("\n").find((l) => l.startsWith("{"));
    assert(line && JSON.parse(line).level, "the API server logs JSON lines");
  } finally {
    const codes = [];
    for (const p of procs.reverse()) codes.push(await p.stop());
    assertEquals(codes.filter((c) => c !== 0 && c !== 143), [], "every process stops cleanly on SIGTERM");
  }
});
