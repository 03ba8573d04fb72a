/**
 * Source detection through the CLI (the harvester task's flags) against real HTTP servers on
 * loopback: a CKAN site, a DCAT Turtle catalog with Hydra paging, a DCAT-US data.json, a CSW
 * GetCapabilities answer, an Apache-style WAF listing, and a plain web page that is "not recognised".
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { cli, freshDatabase } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

const TTL = `@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<http://example.org/catalog> a dcat:Catalog ; dcat:dataset <http://example.org/d1> .
<http://example.org/d1> a dcat:Dataset ; dct:title "One" .
<http://example.org/catalog?page=1> a hydra:PagedCollection ; hydra:nextPage "http://example.org/catalog?page=2" .`;
const CSW = `<?xml version="1.0"?><csw:Capabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" version="2.0.2">
<ows:ServiceIdentification xmlns:ows="http://www.opengis.net/ows"><ows:Title>Test CSW</ows:Title></ows:ServiceIdentification>
</csw:Capabilities>`;
const WAF =
  `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN"><html><head><title>Index of /waf</title></head><body>
<h1>Index of /waf</h1><pre><a href="?C=N;O=D">Name</a> <a href="/">Parent Directory</a>
<a href="a.xml">a.xml</a> 2024-01-02 10:00 4.1K
<a href="b.xml">b.xml</a> 2024-01-03 11:00 3.9K</pre></body></html>`;

Deno.test("detect names the harvester for a CKAN site, a DCAT file, a data.json, a CSW server and a WAF, and refuses a plain page", async () => {
  await using db = await freshDatabase();
  const env = { DATABASE_URL: db.url, CKAN__HARVEST__ALLOW_PRIVATE_URLS: "true" };
  assertEquals((await cli(["db", "upgrade"], env)).code, 0);
  await using ckan = serveCkanCatalog(sampleCatalog({ count: 3, seed: 1 }));
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    if (u.pathname === "/catalog") return new Response(TTL, { headers: { "Content-Type": "text/turtle" } });
    if (u.pathname === "/data.json") {
      return Response.json({
        conformsTo: "https://project-open-data.cio.gov/v1.1/schema",
        dataset: [{ identifier: "x" }],
      });
    }
    if (u.pathname === "/csw" && u.searchParams.get("request") === "GetCapabilities") {
      return new Response(CSW, { headers: { "Content-Type": "application/xml" } });
    }
    if (u.pathname === "/csw") {
      return new Response("<html><body>Use GetCapabilities</body></html>", {
        headers: { "Content-Type": "text/html" },
      });
    }
    if (u.pathname === "/waf/") return new Response(WAF, { headers: { "Content-Type": "text/html" } });
    return new Response("<!doctype html><html><body><h1>Welcome</h1><a href='/about'>About</a></body></html>", {
      headers: { "Content-Type": "text/html" },
    });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const detect = async (url: string) => {
      const r = await cli(["--json", "detect", url], env);
      assertEquals(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as {
        source_type: string | null;
        reason: string;
        config: Record<string, unknown>;
        registered: boolean;
      };
    };
    const c = await detect(ckan.url);
    assertEquals([c.source_type, c.registered], ["ckan", true]);
    assertMatch(c.reason, /CKAN .* action API/);
    const d = await detect(`${base}/catalog`);
    assertEquals(d.source_type, "dcat_rdf");
    assertMatch(d.reason, /text\/turtle with 1 dataset\(s\) on this page, Hydra paging/);
    assertEquals((await detect(`${base}/data.json`)).source_type, "dcat_json");
    const csw = await detect(`${base}/csw`);
    assertEquals(csw.source_type, "csw");
    assertMatch(csw.reason, /CSW 2\.0\.2 server/);
    assertEquals((await detect(`${base}/waf/`)).source_type, "waf");

    // A plain page: not recognised, a clear line and exit code 1, every probe said.
    const plain = await cli(["detect", `${base}/welcome`], env);
    assertEquals(plain.code, 1);
    assertMatch(plain.stderr, /not recognised: ckan: .*; document: an HTML page, not a catalog; csw: /);
    // A private address is refused unless configured, as for harvests.
    const guarded = await cli(["detect", `${base}/catalog`], {
      DATABASE_URL: db.url,
      CKAN__HARVEST__ALLOW_PRIVATE_URLS: "false",
    });
    assertEquals(guarded.code, 1);
    assertMatch(guarded.stderr, /not recognised: .*(private|loopback|not allowed)/i);
  } finally {
    await server.shutdown();
  }
});
