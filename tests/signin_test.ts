/**
 * Web sign-in against password guessing and name enumeration: per-account and per-address rate
 * limits with backoff (429 and Retry-After), the same work for unknown and known names, same-site
 * paths only after login, and account actions that answer 403 whether or not the name exists.
 */
import { assert, assertEquals } from "./assert.ts";
import { callApi, cli, freshDatabase, serve, testServices } from "./helpers.ts";
import { createApp } from "../src/api/mod.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import type { Services } from "../src/services.ts";

type Fetcher = (path: string, init?: RequestInit) => Response | Promise<Response>;

/** A browser-like client: keeps cookies, reads the form token, posts the login form. */
function browser(fetcher: Fetcher, origin: string) {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const [k, v] = pair!.split("=");
      jar.set(k!, v ?? "");
    }
    return res;
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  return {
    async login(username: string, password: string, next = "/harvest") {
      const form = keep(
        await fetcher(`/user/login?next=${encodeURIComponent(next)}`, { headers: { Cookie: cookie() } }),
      );
      const csrf = (await form.text()).match(/name="_csrf" value="([^"]+)"/)![1]!;
      const started = performance.now();
      const res = keep(
        await fetcher("/user/login", {
          method: "POST",
          redirect: "manual",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie(), Origin: origin },
          body: new URLSearchParams({ _csrf: csrf, username, password, next }),
        }),
      );
      await res.body?.cancel();
      return { res, ms: performance.now() - started };
    },
  };
}

async function withApp(fn: (services: Services, b: ReturnType<typeof browser>) => Promise<void>) {
  await using services = await testServices();
  await runAction(getAction("user_create")!, { services, actor: SITE_ACTOR }, {
    name: "alice",
    password: "right-password",
  });
  const app = createApp(services);
  await fn(services, browser((path, init) => app.request(path, init), "http://localhost"));
}

Deno.test("after 5 wrong passwords an account is locked with backoff: 429 and Retry-After, even for the right password", () =>
  withApp(async (_services, b) => {
    for (let i = 0; i < 5; i++) assertEquals((await b.login("alice", `wrong-${i}`)).res.status, 401);
    const sixth = await b.login("alice", "wrong-6");
    assertEquals(sixth.res.status, 401, "the 6th failure is counted and locks");
    const locked = await b.login("alice", "right-password");
    assertEquals(locked.res.status, 429, "the right password does not get in while locked");
    assert(Number(locked.res.headers.get("retry-after")) >= 1);
    await new Promise((r) => setTimeout(r, (Number(locked.res.headers.get("retry-after")) + 0.2) * 1000));
    const after = await b.login("alice", "right-password");
    assertEquals(after.res.status, 303, "after the wait the right password works");
    // And an unknown name is locked the same way, so a lockout tells nothing either.
    for (let i = 0; i < 6; i++) await b.login("nobody-here", `x${i}`);
    assertEquals((await b.login("nobody-here", "y")).res.status, 429);
  }));

Deno.test("a known and an unknown name take the same time to refuse", () =>
  withApp(async (_services, b) => {
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i++) {
      known.push((await b.login("alice", `bad-${i}`)).ms);
      unknown.push((await b.login(`ghost-${i}`, "bad")).ms);
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[1]!;
    const ratio = median(known) / median(unknown);
    assert(
      ratio > 0.5 && ratio < 2,
      `known ${median(known).toFixed(0)} ms vs unknown ${median(unknown).toFixed(0)} ms`,
    );
  }));

Deno.test("next= after login never leaves the site", async () => {
  await using services = await testServices();
  await runAction(getAction("user_create")!, { services, actor: SITE_ACTOR }, {
    name: "bob",
    password: "bob-password",
  });
  const app = createApp(services);
  const appFetch: Fetcher = (path, init) => app.request(path, init);
  for (
    const next of [
      "/\\example.org",
      "//example.org",
      "/\\/example.org",
      "https://example.org",
      "/\texample.org",
      "/%0aexample",
    ]
  ) {
    const { res } = await browser(appFetch, "http://localhost").login("bob", "bob-password", next);
    assertEquals(res.status, 303, next);
    const location = res.headers.get("location")!;
    assert(
      location === "/harvest" || (location.startsWith("/") && !/^\/[\\/]/.test(location)),
      `${next} -> ${location}`,
    );
    assertEquals(new URL(location, "http://localhost").origin, "http://localhost", `${next} -> ${location}`);
  }
  const { res } = await browser(appFetch, "http://localhost").login("bob", "bob-password", "/harvest/admin");
  assertEquals(res.headers.get("location"), "/harvest/admin", "a path on the site is followed");
});

Deno.test("user_show and the token actions answer 403 for a name that exists and one that does not", async () => {
  await using services = await testServices();
  const site = { services, actor: SITE_ACTOR };
  await runAction(getAction("user_create")!, site, { name: "carol" });
  await runAction(getAction("user_create")!, site, { name: "mallory" });
  const token = ((await runAction(getAction("api_token_create")!, site, { user: "mallory", name: "t" })) as {
    token: string;
  }).token;
  const app = createApp(services);
  for (const action of ["user_show", "api_token_list"]) {
    const field = action === "user_show" ? "id" : "user";
    const statuses = [];
    for (const name of ["carol", "no-such-user"]) {
      const res = await app.request(`/api/3/action/${action}?${field}=${name}`, { headers: { Authorization: token } });
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assertEquals(statuses, [403, 403], action);
  }
  const own = await app.request("/api/3/action/user_show?id=mallory", { headers: { Authorization: token } });
  assertEquals(own.status, 200);
});

Deno.test("a client address that fails 20 sign-ins across names is throttled too, on a real server", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url };
  await cli(["db", "upgrade"], env);
  const s = await serve(env);
  try {
    const b = browser((path, init) => fetch(`${s.url}${path}`, init), s.url);
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) statuses.push((await b.login(`guess-${i}`, "x")).res.status);
    assertEquals(statuses.slice(0, 20).every((c) => c === 401), true, statuses.join(","));
    assertEquals(statuses.at(-1), 429, statuses.join(","));
    const api = await callApi(s.url, "status_show", {}, { method: "GET" });
    assertEquals(api.status, 200, "the API is not throttled by failed sign-ins");
  } finally {
    await s.proc.stop("SIGTERM");
  }
});
