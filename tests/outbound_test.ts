/**
 * The one outbound door against a hostile remote: no local file read through paging links or
 * redirects, no private address in any spelling, no JSON-LD context fetched unless configured, and
 * connections that go to the address that was vetted (no DNS rebinding).
 */
import fc from "fast-check";
import { assert, assertEquals, assertMatch, assertRejects } from "./assert.ts";
import { tempDir, testServices } from "./helpers.ts";
import { ANONYMOUS, getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource } from "../src/harvest/sources.ts";
import { dcatDatasets, jsonLd, turtle } from "../src/demo/dcat_catalog.ts";
import { HttpClient, UrlGuard } from "../src/http/mod.ts";
import { PinnedConnector } from "../src/http/pinned.ts";

type Dict = Record<string, unknown>;

function hostile(routes: Record<string, () => Response>) {
  const hits: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    hits.push(path);
    return routes[path]?.() ?? new Response("not found", { status: 404 });
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, hits, [Symbol.asyncDispose]: () => server.shutdown() };
}

Deno.test("a DCAT page whose hydra:next is file:///etc/passwd reads nothing local, even with private URLs allowed", async () => {
  // The test task allows private URLs (the remotes are on loopback): the scheme rule holds regardless.
  await using services = await testServices({ CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" });
  const page = turtle(dcatDatasets(2), { next: "file:///etc/passwd" });
  await using remote = hostile({
    "/catalog.ttl": () => new Response(page, { headers: { "Content-Type": "text/turtle" } }),
  });
  const ctx = { services, actor: SITE_ACTOR };
  await runAction(getAction("harvest_source_create")!, ctx, {
    name: "hostile-next",
    url: `${remote.url}/catalog.ttl`,
    source_type: "dcat_rdf",
  });
  const summary = await runJobInProcess(ctx, await getSource(services.sql, "hostile-next"));
  assertEquals(summary.stats.added, 2, "the records of the real page are kept");
  assertEquals(summary.gatherErrors.length, 1);
  assertMatch(summary.gatherErrors[0]!, /Refused to fetch file:\/\/\.\.\. URL: only http: and https: URLs are fetched/);
  const shown = JSON.stringify(
    await runAction(getAction("harvest_source_show")!, { services, actor: ANONYMOUS }, { id: "hostile-next" }),
  );
  const firstLine = Deno.readTextFileSync("/etc/passwd").split("\n")[0]!;
  assert(!shown.includes(firstLine) && !summary.gatherErrors[0]!.includes(firstLine), "nothing of the file leaks");
});

Deno.test("redirects to file:, data: and blob: URLs are refused at the hop, whatever else is allowed", async () => {
  await using remote = hostile({
    "/to-file": () => new Response(null, { status: 302, headers: { Location: "file:///etc/passwd" } }),
    "/to-data": () => new Response(null, { status: 302, headers: { Location: "data:application/json,{}" } }),
    "/to-blob": () => new Response(null, { status: 302, headers: { Location: "blob:http://x/1" } }),
  });
  for (const allowPrivate of [true, false]) {
    const http = new HttpClient({
      userAgent: "t",
      timeoutMs: 5000,
      maxBytes: 1 << 20,
      guard: new UrlGuard({ allowPrivate, allowedHosts: ["127.0.0.1"] }),
    });
    for (const path of ["/to-file", "/to-data", "/to-blob"]) {
      await assertRejects(() => http.getText(`${remote.url}${path}`), Error, "only http: and https: URLs are fetched");
    }
    for (const url of ["file:///etc/passwd", "data:text/plain,hi", "blob:http://127.0.0.1/x", "ftp://127.0.0.1/"]) {
      await assertRejects(() => http.getText(url), Error, "only http: and https: URLs are fetched");
    }
    await http.close();
  }
});

/** Every spelling of an IPv4 address that a URL parser or an IPv6 stack reads as that address. */
function spellings(a: number, b: number, c: number, d: number): string[] {
  const n = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
  const hex = (x: number) => x.toString(16);
  return [
    `${a}.${b}.${c}.${d}`,
    String(n),
    `0x${hex(n)}`,
    `0${a.toString(8)}.0${b.toString(8)}.0${c.toString(8)}.0${d.toString(8)}`,
    `0x${hex(a)}.0x${hex(b)}.0x${hex(c)}.0x${hex(d)}`,
    `${a}.${(b << 16) + (c << 8) + d}`,
    `${a}.${b}.${(c << 8) + d}`,
    `[::ffff:${a}.${b}.${c}.${d}]`,
    `[::ffff:${hex((a << 8) + b)}:${hex((c << 8) + d)}]`,
    `[0:0:0:0:0:ffff:${a}.${b}.${c}.${d}]`,
    `[::${a}.${b}.${c}.${d}]`,
    `[64:ff9b::${a}.${b}.${c}.${d}]`,
    `[2002:${hex((a << 8) + b)}:${hex((c << 8) + d)}::1]`,
  ];
}

const privateV4 = fc.oneof(
  fc.tuple(fc.constant(127), fc.nat(255), fc.nat(255), fc.nat(255)),
  fc.tuple(fc.constant(10), fc.nat(255), fc.nat(255), fc.nat(255)),
  fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), fc.nat(255), fc.nat(255)),
  fc.tuple(fc.constant(192), fc.constant(168), fc.nat(255), fc.nat(255)),
  fc.tuple(fc.constant(169), fc.constant(254), fc.nat(255), fc.nat(255)),
  fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), fc.nat(255), fc.nat(255)),
  fc.tuple(fc.constant(0), fc.nat(255), fc.nat(255), fc.nat(255)),
);

Deno.test("property: every spelling of a loopback, private, link-local, CGNAT or zero address is refused; public ones pass", async () => {
  const strict = new UrlGuard({ allowPrivate: false, allowedHosts: [] });
  await fc.assert(
    fc.asyncProperty(privateV4, fc.constantFrom("http", "https"), async ([a, b, c, d], scheme) => {
      for (const host of spellings(a, b, c, d)) {
        const url = `${scheme}://${host}:8080/path`;
        const refused = await strict.vet(url).then(() => undefined, (e: Error) => e);
        assert(refused, `${url} was let through`);
        assertMatch(refused.message, /Refused to connect/, url);
      }
    }),
    { numRuns: 300 },
  );
  // The same spellings of a public address are let through (IPv4-compatible excepted: deprecated, refused).
  for (const host of spellings(93, 184, 216, 34).filter((h) => !h.startsWith("[::93"))) {
    const address = await strict.vet(`http://${host}/`);
    assert(
      ["93.184.216.34", "::ffff:5db8:d822", "64:ff9b::5db8:d822", "2002:5db8:d822::1"].includes(address),
      `${host} -> ${address}`,
    );
  }
  for (
    const url of [
      "http://[::]/",
      "http://[fe80::1]/",
      "http://[fc00::1]/",
      "http://[2001:0::1]/",
      "http://[64:ff9b:1::1]/",
    ]
  ) {
    await assertRejects(() => strict.vet(url), Error, "Refused to connect");
  }
});

Deno.test("a JSON-LD document's remote @context is never fetched unless the source allows remote contexts", async () => {
  await using services = await testServices({ CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" });
  const context = {
    "@context": { dcat: "http://www.w3.org/ns/dcat#", dct: "http://purl.org/dc/terms/" },
  };
  const doc = JSON.parse(jsonLd(dcatDatasets(2))) as Dict;
  let served = 0;
  await using remote = hostile({
    "/catalog.jsonld": () =>
      new Response(JSON.stringify({ ...doc, "@context": contextUrl }), {
        headers: { "Content-Type": "application/ld+json" },
      }),
    "/context.jsonld": () => {
      served++;
      return Response.json(context);
    },
  });
  const contextUrl = `${remote.url}/context.jsonld`;
  const ctx = { services, actor: SITE_ACTOR };
  await runAction(getAction("harvest_source_create")!, ctx, {
    name: "ctx-off",
    url: `${remote.url}/catalog.jsonld`,
    source_type: "dcat_rdf",
  });
  const off = await runJobInProcess(ctx, await getSource(services.sql, "ctx-off"));
  assertEquals(served, 0, "the context was not fetched");
  assertMatch(off.gatherErrors[0] ?? "", /JSON-LD context .* is not loaded: remote contexts are off/);
  await runAction(getAction("harvest_source_create")!, ctx, {
    name: "ctx-local-file",
    url: `${remote.url}/catalog.jsonld`,
    source_type: "dcat_rdf",
    config: { remote_contexts: true },
  });
  // Allowed, it goes through the guarded client: served once, and a file: context would still be refused.
  await runJobInProcess(ctx, await getSource(services.sql, "ctx-local-file"));
  assertEquals(served, 1, "allowed, the context is loaded through the service's client");
});

Deno.test("connections go to the vetted address, not to a second DNS answer: http through a pinned socket, https through the tunnel with TLS to the host name", async () => {
  using dir = tempDir();
  const run = (args: string[]) => new Deno.Command("openssl", { args, cwd: dir.path, stderr: "null" }).output();
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=test ca",
  ]);
  await run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=rebind.invalid",
  ]);
  Deno.writeTextFileSync(`${dir.path}/ext`, "subjectAltName=DNS:rebind.invalid\n");
  await run([
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "leaf.pem",
    "-days",
    "1",
    "-extfile",
    "ext",
  ]);
  const ca = Deno.readTextFileSync(`${dir.path}/ca.pem`);
  const plain = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(`plain ${req.headers.get("host")}`),
  );
  const tls = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: Deno.readTextFileSync(`${dir.path}/leaf.pem`),
    key: Deno.readTextFileSync(`${dir.path}/leaf.key`),
    onListen() {},
  }, (req) => new Response(`tls ${new URL(req.url).host}`));
  const connector = new PinnedConnector({ caCerts: [ca] });
  try {
    // rebind.invalid resolves nowhere: the answers can only come from the pinned address.
    const httpUrl = new URL(`http://rebind.invalid:${plain.addr.port}/`);
    const r1 = await fetch(httpUrl, { client: await connector.client(httpUrl, "127.0.0.1") });
    assertEquals(await r1.text(), `plain rebind.invalid:${plain.addr.port}`);
    const httpsUrl = new URL(`https://rebind.invalid:${tls.addr.port}/`);
    const r2 = await fetch(httpsUrl, { client: await connector.client(httpsUrl, "127.0.0.1") });
    assertEquals(await r2.text(), `tls rebind.invalid:${tls.addr.port}`, "TLS is checked against the host name");
    // The tunnel connects only where a pin says, for the host it was pinned for.
    const other = new URL(`https://elsewhere.invalid:${tls.addr.port}/`);
    const stray = Deno.createHttpClient({
      caCerts: [ca],
      proxy: { transport: "http", url: `http://127.0.0.1:1`, basicAuth: { username: "x", password: "" } },
    });
    await assertRejects(() => fetch(other, { client: stray }));
    stray.close();
  } finally {
    await connector.close();
    await plain.shutdown();
    await tls.shutdown();
  }
});
