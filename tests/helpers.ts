/**
 * Test helpers: fresh databases on the real PostgreSQL the test task starts, the real CLI and server
 * as subprocesses, and in-process services for action-level tests.
 */
import postgres from "postgres";
import { loadConfig } from "../src/config/mod.ts";
import { openServices, type Services } from "../src/services.ts";
import { migrate } from "../src/db/mod.ts";
import { type ProductTask, taskArgs } from "./task_flags.ts";

const ROOT = new URL("../", import.meta.url).pathname;

export function adminUrl(): string {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the tests with `deno task test`");
  return url;
}

/** A new, empty database on the test server; dropped when disposed. */
export async function freshDatabase(): Promise<{ url: string } & AsyncDisposable> {
  const name = `harvest_test_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const admin = postgres(adminUrl(), { onnotice: () => {}, max: 1 });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async [Symbol.asyncDispose]() {
      const a = postgres(adminUrl(), { onnotice: () => {}, max: 1 });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** In-process services on a fresh, migrated database. */
export async function testServices(env: Record<string, string> = {}): Promise<Services> {
  const db = await freshDatabase();
  let services: Services;
  try {
    const config = loadConfig({ env: { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true", ...env } });
    services = await openServices(config);
  } catch (error) {
    await db[Symbol.asyncDispose]();
    throw error;
  }
  await migrate(services.sql);
  const close = services.close;
  const dispose = async () => {
    await close();
    await db[Symbol.asyncDispose]();
  };
  return Object.assign(services, { close: dispose, [Symbol.asyncDispose]: dispose });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `harvester` CLI in a subprocess, with the `harvester` task's own permission flags. */
export async function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: taskArgs("harvester", args),
    env: { NO_COLOR: "1", ...env },
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

const TASK_OF: Record<string, ProductTask> = { "main.ts": "serve", "cli.ts": "harvester", "src/demo/mod.ts": "demo" };

/**
 * A long-running process of ours (serve, demo, a consumer) whose output is watched for a line. It runs
 * with the permission flags of the deno.json task that starts `script`, as a user runs it.
 */
export class Proc implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  output = "";
  /** Set once the process has ended, whoever ended it. */
  exited = false;
  #reader: Promise<void>;

  constructor(script: string, args: string[], env: Record<string, string>) {
    const task = TASK_OF[script];
    if (!task) throw new Error(`No deno.json task starts ${script}`);
    this.child = new Deno.Command(Deno.execPath(), {
      args: taskArgs(task, args),
      env: { NO_COLOR: "1", ...env },
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) this.output += chunk;
    };
    this.#reader = Promise.all([read(this.child.stdout), read(this.child.stderr)]).then(() => {});
    this.child.status.then(() => this.exited = true);
  }

  /** Waits until the output matches, failing with the output so far after `ms`. */
  async waitFor(pattern: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const m = this.output.match(pattern);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`Timed out waiting for ${pattern}; output so far:\n${this.output}`);
  }

  async stop(signal: Deno.Signal = "SIGINT"): Promise<Deno.CommandStatus> {
    try {
      this.child.kill(signal);
    } catch { /* already gone */ }
    const status = await this.child.status;
    await this.#reader;
    return status;
  }

  async [Symbol.asyncDispose]() {
    await this.stop("SIGTERM");
  }
}

/** Starts `main.ts` on a free port and returns its base URL. */
export async function serve(env: Record<string, string>): Promise<{ url: string; proc: Proc }> {
  const proc = new Proc("main.ts", [], { PORT: "0", ...env });
  const m = await proc.waitFor(/Harvest service on (http:\/\/\S+)/);
  return { url: m[1]!, proc };
}

/** Calls an action over HTTP and returns the parsed envelope and status. */
export async function callApi(
  base: string,
  action: string,
  input: Record<string, unknown> = {},
  options: { method?: "GET" | "POST"; token?: string } = {},
): Promise<{ status: number; body: { success: boolean; result?: unknown; error?: Record<string, unknown> } }> {
  const method = options.method ?? "POST";
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = options.token;
  let url = `${base}/api/3/action/${action}`;
  let body: string | undefined;
  if (method === "GET") url += `?${new URLSearchParams(input as Record<string, string>)}`;
  else {
    body = JSON.stringify(input);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(url, { method, headers, body });
  return { status: res.status, body: await res.json() };
}

/** A temporary directory removed when disposed. */
export function tempDir(): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix: "harvest-test-" });
  return { path, [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }) };
}

/** Services on an existing database (already migrated), for reading what a subprocess wrote. */
export async function servicesOn(databaseUrl: string, env: Record<string, string> = {}): Promise<Services> {
  return await openServices(
    loadConfig({ env: { DATABASE_URL: databaseUrl, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true", ...env } }),
  );
}
