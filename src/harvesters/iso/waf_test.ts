import { assertEquals } from "../../../tests/assert.ts";
import { listingDate, parseListing } from "./waf.ts";

// Listing lines as Apache's mod_autoindex (fancy and plain), nginx's autoindex and IIS write them.
Deno.test("parseListing() reads Apache, nginx and IIS directory listings: files, folders and dates", () => {
  const apache = `<table><tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr>
<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="/metadata/">Parent Directory</a></td></tr>
<tr><td><a href="dataset-a.xml">dataset-a.xml</a></td><td align="right">2026-11-30 14:05  </td><td align="right"> 12K</td></tr>
<tr><td><a href="sub/">sub/</a></td><td align="right">2026-11-29 08:00  </td><td>-</td></tr>
<tr><td><a href="readme.txt">readme.txt</a></td><td align="right">2026-11-29 08:00  </td></tr>
</table>`;
  const base = "http://example.org/metadata/iso/";
  assertEquals(parseListing(apache, base), [
    { url: `${base}dataset-a.xml`, folder: false, modified: new Date(Date.UTC(2026, 10, 30, 14, 5)) },
    { url: `${base}sub/`, folder: true, modified: new Date(Date.UTC(2026, 10, 29, 8, 0)) },
  ]);
  const nginx =
    `<html><head><title>Index of /iso/</title></head><body><h1>Index of /iso/</h1><hr><pre><a href="../">../</a>
<a href="deeper/">deeper/</a>                                            02-Dec-2026 06:13                   -
<a href="wales1.xml">wales1.xml</a>                                         02-Dec-2026 05:13               18943
</pre><hr></body></html>`;
  assertEquals(parseListing(nginx, "http://127.0.0.1:8080/iso/"), [
    { url: "http://127.0.0.1:8080/iso/deeper/", folder: true, modified: new Date(Date.UTC(2026, 11, 2, 6, 13)) },
    { url: "http://127.0.0.1:8080/iso/wales1.xml", folder: false, modified: new Date(Date.UTC(2026, 11, 2, 5, 13)) },
  ]);
  const iis = `<html><head><title>host - /waf/</title></head><body><H1>host - /waf/</H1><hr>
<pre><A HREF="/">[To Parent Directory]</A><br><br> Monday, December 1, 2026  2:07 PM        &lt;dir&gt; <A HREF="/waf/old/">old</A><br> 12/1/2026  9:30 AM        24096 <A HREF="/waf/Record%201.XML">Record 1.XML</A><br></pre><hr></body></html>`;
  assertEquals(parseListing(iis, "http://iis.example/waf/"), [
    { url: "http://iis.example/waf/old/", folder: true, modified: new Date(Date.UTC(2026, 11, 1, 14, 7)) },
    { url: "http://iis.example/waf/Record%201.XML", folder: false, modified: new Date(Date.UTC(2026, 11, 1, 9, 30)) },
  ]);
  // Links elsewhere are not followed: other sites, parents, query strings, fragments.
  const elsewhere =
    `<a href="http://other.example/x.xml">x</a> <a href="../up.xml">up</a> <a href="a.xml?download=1">a</a>
<a href="#top">top</a> <a href='single.xml'>single</a> <a href=bare.xml>bare</a>`;
  assertEquals(parseListing(elsewhere, base).map((e) => e.url), [`${base}single.xml`, `${base}bare.xml`]);
});

Deno.test("listingDate() reads the date forms of listings and refuses impossible dates", () => {
  assertEquals(listingDate("  2026-02-03 04:05:06 "), new Date(Date.UTC(2026, 1, 3, 4, 5, 6)));
  assertEquals(listingDate("03-Feb-2026 04:05"), new Date(Date.UTC(2026, 1, 3, 4, 5)));
  assertEquals(listingDate("Tuesday, February 3, 2026 12:05 AM"), new Date(Date.UTC(2026, 1, 3, 0, 5)));
  assertEquals(listingDate("2/3/2026 12:05 PM"), new Date(Date.UTC(2026, 1, 3, 12, 5)));
  assertEquals(listingDate("2026-02-30 10:00"), undefined);
  assertEquals(listingDate("no date here"), undefined);
});
