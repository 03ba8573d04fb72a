/**
 * The README's sequences on the embedded default, with the deno.json tasks' own permission flags:
 * `serve` with the CLI beside it, the demo with a user added beside it, a CLI killed mid-harvest,
 * serve stopped with SIGTERM and started again. Exactly one process ever opens the database files.
 */
import postgres from "postgres";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { callApi, cli, freshDatabase, Proc, serve, tempDir } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

type Dict = Record<string, unknown>;

const holderInfo = (dir: string) => JSON.parse(Deno.readTextFileSync(`${dir}/holder.json`)) as Dict;

async function waitUntil(what: string, ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check().catch(() => false)) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
}

async function health(url: string): Promise<Dict> {
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) });
  return await res.json();
}

Deno.test("serve on the embedded default with the CLI beside it: one holder, tokens made by the CLI accepted, strangers refused, a killed CLI harmless, SIGTERM and restart keep the data", async () => {
  using dir = tempDir();
  const data = `${dir.path}/data`;
  const env = { HARVEST_DATA_DIR: data, CKAN__HARVEST__CONNECT_TIMEOUT: "30" };
  await using remote = serveCkanCatalog(sampleCatalog({ count: 400, seed: 3 }), { delayMs: 150, rowsMax: 50 });
  const first = await serve(env);
  let token: string;
  try {
    const added = await cli(["user", "add", "alice", "--sysadmin", "--password", "correct-horse"], env);
    assertEquals(added.code, 0, added.stderr);
    assertMatch(added.stderr, new RegExp(`held by process ${first.proc.child.pid}: connected through its socket`));
    token = (await cli(["user", "token", "add", "alice", "e2e"], env)).stdout.trim();
    assertMatch(token, /^hv_[0-9a-f]{64}$/);
    const status = await callApi(first.url, "harvest_status_show", {}, { token });
    assertEquals(status.status, 200, "the server accepts a token the CLI made");
    const kinds = ((status.body.result as Dict).consumers as Dict[]).map((c) => c.kind);
    assert(kinds.includes("all-in-one"), `serve runs the workers itself: ${kinds}`);

    // The socket asks for the password in a file only the data directory's owner can read.
    assertEquals(Deno.statSync(`${data}/socket.secret`).mode! & 0o777, 0o600);
    const port = holderInfo(data).port;
    for (const password of ["wrong", ""]) {
      const stranger = postgres(`postgres://anyone:${password}@127.0.0.1:${port}/postgres`, {
        max: 1,
        connect_timeout: 5,
        onnotice: () => {},
      });
      const refused = await stranger`SELECT name FROM "user"`.then(() => undefined, (e: Error) => e);
      await stranger.end({ timeout: 1 }).catch(() => {});
      assert(refused, `a stranger with password ${JSON.stringify(password)} is refused`);
      assertMatch(refused.message, /password authentication failed|password/i);
    }

    // A run-test killed with SIGKILL in the middle of its harvest leaves the holder serving.
    const created = await cli(["source", "create", "slow", remote.url, "ckan"], env);
    assertEquals(created.code, 0, created.stderr);
    const runTest = new Proc("cli.ts", ["run-test", "slow"], env);
    await waitUntil("the run-test to be half-way", 60_000, () => Promise.resolve(remote.requests.length >= 5));
    runTest.child.kill("SIGKILL");
    await runTest.stop();
    const recovered = await waitUntil(
      "the database to answer again",
      10_000,
      async () => (await health(first.url)).database === "ok",
    );
    assert(recovered < 5_000, `healthy again ${recovered} ms after the kill`);
    const sources = await cli(["sources"], env);
    assertEquals(sources.code, 0, sources.stderr);
    assertMatch(sources.stdout, /slow/);

    // A client killed in the middle of a statement inside a transaction: the session is free as soon
    // as the statement ends, not when the idle reaper (30 s) notices.
    const dying = new Deno.Command(Deno.execPath(), {
      // Not a product process: a bare database client, given only the socket and the data directory.
      args: [
        "run",
        "--allow-net=127.0.0.1",
        "--allow-env",
        `--allow-read=${data}`,
        new URL("./fixtures/die_in_transaction.ts", import.meta.url).pathname,
        data,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = dying.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assertMatch((await reader.read()).value ?? "", /in transaction/);
    await new Promise((r) => setTimeout(r, 300)); // inside pg_sleep
    dying.kill("SIGKILL");
    await dying.status;
    reader.releaseLock();
    await dying.stdout.cancel().catch(() => {});
    const freed = await waitUntil(
      "the session to be free again",
      20_000,
      async () => (await health(first.url)).database === "ok",
    );
    assert(freed < 8_000, `healthy again ${freed} ms after a client died in a transaction`);
  } finally {
    const started = Date.now();
    const status = await first.proc.stop("SIGTERM");
    const took = Date.now() - started;
    assertEquals(status.code, 0, first.proc.output);
    assert(took < 5_000, `serve stopped ${took} ms after SIGTERM`);
  }
  assert(!existsSync(`${data}/holder.json`), "the holder removes its address when it stops");

  // Started again on the same files: the user and the token are still there.
  const second = await serve(env);
  try {
    const status = await callApi(second.url, "harvest_status_show", {}, { token });
    assertEquals(status.status, 200, JSON.stringify(status.body));
    const listed = await cli(["sources"], env);
    assertMatch(listed.stdout, /slow/);
  } finally {
    await second.proc.stop("SIGTERM");
  }
});

Deno.test("the demo with a user added beside it: the user logs in, and a job created while the demo runs finishes", async () => {
  using dir = tempDir();
  const env = { HARVEST_DATA_DIR: `${dir.path}/data`, PORT: "0" };
  await using demo = new Proc("src/demo/mod.ts", [], env);
  await demo.waitFor(/Press Ctrl-C/, 180_000);
  const url = demo.output.match(/Harvest service: (http:\/\/\S+)/)![1]!;
  const added = await cli(["user", "add", "op", "--sysadmin", "--password", "demo-password"], env);
  assertEquals(added.code, 0, added.stderr);

  // Log in through the web form, as a browser does (CSRF token from the form, cookie from the page).
  const form = await fetch(`${url}/user/login`);
  const cookie = (form.headers.get("set-cookie") ?? "").split(";")[0]!;
  const csrf = (await form.text()).match(/name="_csrf" value="([^"]+)"/)![1]!;
  const login = await fetch(`${url}/user/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie, Origin: url },
    body: new URLSearchParams({ _csrf: csrf, username: "op", password: "demo-password", next: "/harvest" }),
  });
  assertEquals(login.status, 303, await login.text());
  assertEquals(login.headers.get("location"), "/harvest");

  // A job created now (the web UI's Reharvest) is gathered and imported by the demo's own workers.
  const token = (await cli(["user", "token", "add", "op", "e2e"], env)).stdout.trim();
  const job = await callApi(url, "harvest_job_create", { source_id: "demo-sample-ckan" }, { token });
  assertEquals(job.status, 200, JSON.stringify(job.body));
  const id = (job.body.result as Dict).id as string;
  await waitUntil("the job to finish", 90_000, async () => {
    const shown = await callApi(url, "harvest_job_show", { id }, { token });
    return (shown.body.result as Dict)?.status === "Finished";
  });
  const shown = await callApi(url, "harvest_job_show", { id }, { token });
  assertEquals(((shown.body.result as Dict).stats as Dict)["not modified"], 520);
  const ready = await (await fetch(`${url}/readyz`)).json();
  assertEquals(ready.workers, "ok");
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("serve on PostgreSQL runs no workers by default, and readyz, the dashboard and the source page say so while a job waits", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  await cli(["user", "add", "root", "--sysadmin"], env);
  const token = (await cli(["user", "token", "add", "root", "t"], env)).stdout.trim();
  await cli(["source", "create", "waiting", "http://127.0.0.1:9/", "ckan", "--no-check-url"], env);
  const s = await serve(env);
  try {
    // Said once the server listens, so it may follow the line serve() waits for.
    await s.proc.waitFor(/Workers: none in this process/, 10_000);
    assertEquals((await (await fetch(`${s.url}/readyz`)).json()).workers, "ok");
    const job = await callApi(s.url, "harvest_job_create", { source_id: "waiting" }, { token });
    assertEquals(job.status, 200, JSON.stringify(job.body));
    const ready = await fetch(`${s.url}/readyz`);
    assertEquals(ready.status, 200, "the API itself is ready");
    assertMatch((await ready.json()).workers, /1 job\(s\) queued or running, but no worker is alive/);
    const status = await callApi(s.url, "harvest_status_show", {}, { token });
    assertMatch((status.body.result as Dict).workers_warning as string, /no worker is alive/);
    const shown = await callApi(s.url, "harvest_source_show", { id: "waiting" }, { token });
    assertMatch(((shown.body.result as Dict).status as Dict).workers_warning as string, /no worker is alive/);
  } finally {
    await s.proc.stop("SIGTERM");
  }
});

Deno.test("the embedded database's buffer cache follows ckan.harvest.embedded.shared_buffers (128 MB by default)", async () => {
  using dir = tempDir();
  for (const [setting, shown] of [[undefined, "128MB"], ["48", "48MB"]] as const) {
    const data = `${dir.path}/data-${shown}`;
    const env: Record<string, string> = { HARVEST_DATA_DIR: data };
    if (setting) env.CKAN__HARVEST__EMBEDDED__SHARED_BUFFERS = setting;
    const s = await serve(env);
    try {
      // Asked through the holder's own socket, as the CLI beside it connects.
      const secret = Deno.readTextFileSync(`${data}/socket.secret`).trim();
      const sql = postgres(
        `postgres://harvest:${encodeURIComponent(secret)}@127.0.0.1:${holderInfo(data).port}/postgres`,
        {
          max: 1,
          onnotice: () => {},
        },
      );
      try {
        assertEquals((await sql`SHOW shared_buffers`)[0]!.shared_buffers, shown);
      } finally {
        await sql.end({ timeout: 1 });
      }
    } finally {
      await s.proc.stop("SIGTERM");
    }
  }
  const bad = await cli(["source", "list"], {
    HARVEST_DATA_DIR: `${dir.path}/bad`,
    CKAN__HARVEST__EMBEDDED__SHARED_BUFFERS: "0",
  });
  assertEquals(bad.code, 1);
  assertMatch(bad.stderr, /ckan\.harvest\.embedded\.shared_buffers/);
});
