import { assert, assertEquals, assertMatch, assertRejects } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { blockedRange, UrlGuard } from "../src/http/mod.ts";
import { HttpClient } from "../src/http/mod.ts";
import { ACTIONS, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { ValidationError } from "../src/errors/mod.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

Deno.test("the guard names the kind of every non-public address, IPv4 and IPv6", () => {
  assertEquals(blockedRange("127.0.0.1"), "loopback");
  assertEquals(blockedRange("10.1.2.3"), "private");
  assertEquals(blockedRange("172.16.0.1"), "private");
  assertEquals(blockedRange("192.168.1.1"), "private");
  assertEquals(blockedRange("169.254.169.254"), "linkLocal");
  assertEquals(blockedRange("100.64.0.1"), "carrierGradeNat");
  assertEquals(blockedRange("0.0.0.0"), "unspecified");
  assertEquals(blockedRange("::1"), "loopback");
  assertEquals(blockedRange("fe80::1"), "linkLocal");
  assertEquals(blockedRange("fd00:ec2::254"), "uniqueLocal");
  assertEquals(blockedRange("::ffff:127.0.0.1"), "loopback");
  assertEquals(blockedRange("::ffff:169.254.169.254"), "linkLocal");
  assertEquals(blockedRange("93.184.216.34"), undefined);
  assertEquals(blockedRange("2606:2800:220:1:248:1893:25c8:1946"), undefined);
});

Deno.test("the guard checks addresses after DNS resolution, and honours the allow-list", async () => {
  const strict = new UrlGuard({ allowPrivate: false, allowedHosts: [] });
  for (
    const url of ["http://127.0.0.1/", "http://[::1]/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"]
  ) {
    await assertRejects(() => strict.check(url), Error, "Refused to connect");
  }
  // A name is refused for what it resolves to.
  const byName = await strict.check("http://localhost:8080/").then(() => "allowed", (e: Error) => e.message);
  assertMatch(byName, /localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/);
  await assertRejects(() => strict.check("http://metadata.google.internal/"), Error, "cloud metadata");
  await assertRejects(() => strict.check("http://no-such-host.invalid/"), Error, "cannot resolve host");
  await strict.check("http://93.184.216.34/"); // a public address passes without any lookup

  const listed = new UrlGuard({ allowPrivate: false, allowedHosts: ["localhost", "10.0.0.0/8"] });
  await listed.check("http://localhost:8080/");
  await listed.check("http://10.20.30.40/");
  await assertRejects(() => listed.check("http://192.168.0.1/"), Error, "private");
  await new UrlGuard({ allowPrivate: true, allowedHosts: [] }).check("http://169.254.169.254/");
});

Deno.test("a redirect to a refused address is refused before connecting", async () => {
  const hits: string[] = [];
  const target = Deno.serve({ hostname: "127.0.0.2", port: 0, onListen() {} }, (req) => {
    hits.push(req.url);
    return new Response("{}");
  });
  const redirector: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/to-metadata") return Response.redirect("http://169.254.169.254/latest/meta-data/", 302);
      if (path === "/to-other") return Response.redirect(`http://127.0.0.2:${target.addr.port}/x`, 301);
      return Response.redirect(`http://127.0.0.1:${redirector.addr.port}/final`, 302);
    },
  );
  try {
    const http = new HttpClient({
      userAgent: "t",
      timeoutMs: 2000,
      maxBytes: 10_000,
      guard: new UrlGuard({ allowPrivate: false, allowedHosts: ["127.0.0.1"] }),
    });
    const base = `http://127.0.0.1:${redirector.addr.port}`;
    await assertRejects(() => http.getText(`${base}/to-metadata`), Error, "169.254.169.254");
    await assertRejects(() => http.getText(`${base}/to-other`), Error, "127.0.0.2");
    assertEquals(hits, [], "the refused host was never contacted");
  } finally {
    await redirector.shutdown();
    await target.shutdown();
  }
});

Deno.test("a source pointing at a private or metadata address is refused unless allowed", async () => {
  await using remote = serveCkanCatalog(sampleCatalog({ count: 1 }));
  const create = ACTIONS.get("harvest_source_create")!;
  {
    await using services = await testServices({ CKAN__HARVEST__ALLOW_PRIVATE_URLS: "false" });
    const ctx = { services, actor: SITE_ACTOR };
    for (const url of [remote.url, "http://169.254.169.254/latest/", "http://[::ffff:10.0.0.1]/"]) {
      const error = await runAction(create, ctx, { name: "blocked", url, source_type: "ckan", check_url: false })
        .then(() => undefined, (e) => e);
      assert(error instanceof ValidationError, `${url} was accepted`);
      assertMatch(error.fields.url![0]!, /Refused to connect to .*ckan\.harvest\.allow_private_urls/);
    }
    assertEquals((await services.sql`SELECT count(*)::int AS n FROM harvest_source`)[0]!.n, 0);
  }
  {
    await using services = await testServices({
      CKAN__HARVEST__ALLOW_PRIVATE_URLS: "false",
      CKAN__HARVEST__ALLOWED_HOSTS: "127.0.0.1",
    });
    const source = await runAction(create, { services, actor: SITE_ACTOR }, {
      name: "allowed",
      url: remote.url,
      source_type: "ckan",
    }) as { name: string };
    assertEquals(source.name, "allowed");
  }
});
