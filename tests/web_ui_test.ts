/**
 * The web UI in a real headless Chromium (Debian's `chromium`, driven by playwright-core): the whole
 * operator story, escaping, and CSRF. Screenshots of every page go to tests/screenshots/ for review.
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { startServer } from "../src/api/serve.ts";
import { runConsumers } from "../src/harvest/consumers.ts";
import { runJobInProcess } from "../src/harvest/run.ts";
import { getSource, setNextRun } from "../src/harvest/sources.ts";
import type { Services } from "../src/services.ts";

const SHOTS = new URL("./screenshots/", import.meta.url).pathname;
const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

async function launch(): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

async function shot(page: Page, name: string) {
  Deno.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

async function withSite(fn: (site: { services: Services; url: string }) => Promise<void>) {
  await using services = await testServices();
  const server = startServer(services, { port: 0, host: "127.0.0.1" });
  const stop = new AbortController();
  const consumers = runConsumers(services, { gather: true, fetch: true, concurrency: 4, signal: stop.signal });
  try {
    await runAction(getAction("user_create")!, { services, actor: SITE_ACTOR }, {
      name: "operator",
      email: "operator@example.org",
      password: "correct horse battery",
      sysadmin: true,
    });
    await fn({ services, url: server.url });
  } finally {
    stop.abort();
    await consumers;
    await server.shutdown();
  }
}

async function logIn(page: Page, base: string, user = "operator", password = "correct horse battery") {
  await page.goto(`${base}/user/login`);
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${base}/harvest`);
}

/** Reloads `url` until `done` says so (the consumers work in the background). */
async function until(page: Page, url: string, done: () => Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await page.goto(url);
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`Timed out on ${url}: ${await page.textContent("main")}`);
}

Deno.test("an operator logs in, fixes a bad config, harvests, watches progress, reads the report, approves a deletion, clears", async () => {
  const catalog = sampleCatalog({ count: 1500, seed: 21 });
  catalog.datasets[3]!.resources = "broken";
  await using remote = serveCkanCatalog(catalog, { delayMs: 150 });
  await withSite(async ({ services, url }) => {
    const browser = await launch();
    try {
      const page = await browser.newPage();
      // Keyboard only: the skip link comes first, then the fields in order, and Enter submits.
      await page.goto(`${url}/user/login`);
      await page.keyboard.press("Tab");
      assertEquals(await page.evaluate("document.activeElement.textContent"), "Skip to content");
      await page.getByLabel("Username").focus();
      await page.keyboard.type("operator");
      await page.keyboard.press("Tab");
      assertEquals(await page.evaluate("document.activeElement.id"), "password");
      await page.keyboard.type("correct horse battery");
      await page.keyboard.press("Enter");
      await page.waitForURL(`${url}/harvest`);
      await shot(page, "01-source-list-empty");

      // A bad config is shown next to its field; the slug follows the title.
      await page.getByRole("link", { name: "Add a source" }).click();
      await page.getByLabel("URL of the remote catalog").fill(remote.url);
      await page.getByLabel("Title").fill("Demo Portal");
      assertEquals(await page.getByLabel("Name (in URLs)").inputValue(), "demo-portal");
      await page.getByLabel(/CKAN/).check();
      await page.getByLabel("Configuration (JSON)").fill("{not json");
      await page.getByRole("button", { name: "Create source" }).click();
      const error = page.locator("#config-error");
      assertMatch(await error.textContent() ?? "", /Not valid JSON/);
      assertEquals(await page.getByLabel("Configuration (JSON)").getAttribute("aria-invalid"), "true");
      await shot(page, "02-new-source-config-error");
      await page.getByLabel("Configuration (JSON)").fill('{"rows": 50}');
      await page.getByRole("button", { name: "Create source" }).click();
      await page.waitForURL(`${url}/harvest/demo-portal?**`);
      assertMatch(await page.textContent(".flash") ?? "", /The source was created/);
      await shot(page, "03-source-page-new");

      // Reharvest, with its confirmation.
      await page.getByRole("link", { name: "Reharvest" }).click();
      assertMatch(await page.textContent("main") ?? "", /starts a new job now/);
      await shot(page, "04-confirm-reharvest");
      await page.getByRole("button", { name: "Reharvest" }).click();
      await page.waitForURL(`${url}/harvest/demo-portal?**`);

      // Live progress: the counts change on the job page without a reload.
      await page.getByRole("link", { name: /^Job of / }).click();
      await page.evaluate(() => (globalThis as unknown as { marker: number }).marker = 42);
      const seen = new Set<string>();
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && seen.size < 3) {
        seen.add(await page.textContent("#objects-done") ?? "");
        if ((await page.textContent("#job-status"))?.includes("finished")) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert(seen.size >= 2, `the progress counts changed without a reload: ${[...seen]}`);
      assertEquals(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker), 42);
      await shot(page, "05-job-live-progress");

      const jobUrl = page.url();
      await until(page, jobUrl, async () => !(await page.textContent("#job-status"))?.includes("running"));
      assertEquals(await page.textContent('#job-stats [data-stat="added"]'), "1499");
      assertEquals(await page.textContent('#job-stats [data-stat="errored"]'), "1");
      await shot(page, "06-job-report");

      // From the grouped error to the record and its stored content.
      const group = page.locator("details summary").first();
      assertMatch(await group.textContent() ?? "", /Import: .*\(1 record\)/);
      await page.getByRole("link", { name: catalog.datasets[3]!.id as string }).click();
      assertMatch(await page.textContent("pre") ?? "", /"resources": "broken"/);
      await shot(page, "07-object-view");

      // A remote that lost most of its datasets: the deletions wait for approval.
      const kept = catalog.datasets.slice(0, 1000);
      catalog.datasets.length = 0;
      catalog.datasets.push(...kept);
      await page.goto(`${url}/harvest/demo-portal/confirm/reharvest`);
      await page.getByRole("button", { name: "Reharvest" }).click();
      await until(
        page,
        `${url}/harvest/demo-portal`,
        async () => (await page.textContent("main"))!.includes("wait for approval"),
      );
      await shot(page, "08-source-page-pending-deletions");
      await page.getByRole("link", { name: "review them" }).click();
      // The click resolves once the navigation commits; the 500 rows may still be arriving.
      await page.waitForLoadState("load");
      assertEquals(await page.locator('input[name="guids"]').count(), 500);
      await shot(page, "09-pending-deletions");
      await page.getByRole("button", { name: /Approve/ }).click();
      assertMatch(await page.textContent(".flash") ?? "", /Approved: 500 dataset\(s\) withdrawn/);
      assertEquals(await page.textContent("#total-datasets"), "999");

      // The dashboard and the list.
      await page.getByRole("link", { name: "Dashboard" }).click();
      await shot(page, "10-dashboard");
      await page.goto(`${url}/harvest?type=ckan`);
      assertMatch(await page.textContent("main") ?? "", /1 source/);
      await shot(page, "11-source-list-filtered");

      // Clear, with its confirmation.
      await page.goto(`${url}/harvest/demo-portal`);
      await page.getByRole("link", { name: "Clear", exact: true }).click();
      assertMatch(await page.textContent("main") ?? "", /deletes every dataset this source harvested/);
      await page.getByRole("button", { name: "Clear" }).click();
      assertEquals(await page.textContent("#total-datasets"), "0");
      await shot(page, "12-source-cleared");
      const [left] = await services.sql`SELECT count(*)::int AS n FROM package WHERE state = 'active'`;
      assertEquals(left!.n, 0);

      // A narrow screen gets the same page without sideways scrolling.
      const phone = await browser.newPage({ viewport: { width: 375, height: 740 } });
      await phone.context().addCookies(await page.context().cookies());
      await phone.goto(`${url}/harvest/demo-portal`);
      const overflow = await phone.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth + 1",
      ) as boolean;
      assert(overflow, "no horizontal scrolling at 375 px");
      await shot(phone, "13-source-page-narrow");
    } finally {
      await browser.close();
    }
  });
});

Deno.test("harvested and user-provided strings render as text, never as markup", async () => {
  const catalog = sampleCatalog({ count: 3, seed: 5 });
  catalog.datasets[0]!.title = "<script>alert(1)</script>";
  await using remote = serveCkanCatalog(catalog);
  await withSite(async ({ services, url }) => {
    const ctx = { services, actor: SITE_ACTOR };
    await runAction(getAction("harvest_source_create")!, ctx, {
      name: "xss",
      title: "<script>alert(1)</script>",
      notes: '<img src=x onerror="alert(2)">',
      url: remote.url,
      source_type: "ckan",
    });
    await runJobInProcess(ctx, await getSource(services.sql, "xss"));
    const browser = await launch();
    try {
      const page = await browser.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        d.dismiss();
      });
      await logIn(page, url);
      await page.goto(`${url}/harvest`);
      assertMatch(await page.textContent("main") ?? "", /<script>alert\(1\)<\/script>/);
      await page.goto(`${url}/harvest/xss`);
      assertEquals(await page.textContent("h1"), "<script>alert(1)</script>");
      assertMatch(await page.textContent("main") ?? "", /<img src=x onerror="alert\(2\)">/);
      const [obj] = await services.sql`SELECT id FROM harvest_object WHERE guid = ${catalog.datasets[0]!.id as string}`;
      await page.goto(`${url}/harvest/object/${obj!.id}`);
      assertMatch(await page.textContent("pre") ?? "", /"title": "<script>alert\(1\)<\/script>"/);
      await shot(page, "14-escaped-strings");
      assertEquals(dialogs, [], "no script ran");
      assertEquals(await page.locator("main script").count(), 0);
    } finally {
      await browser.close();
    }
  });
});

Deno.test("the source list shows each viewer only the sources it may see, in its facets too", async () => {
  await using remote = serveCkanCatalog(sampleCatalog({ count: 2, seed: 8 }));
  await withSite(async ({ services, url }) => {
    const ctx = { services, actor: SITE_ACTOR };
    const act = (name: string, input: Record<string, unknown>) => runAction(getAction(name)!, ctx, input);
    await act("organization_create", { name: "org-a", title: "Org A" });
    await act("user_create", { name: "member", email: "member@example.org", password: "member password" });
    await act("organization_member_create", { id: "org-a", username: "member", role: "member" });
    await act("harvest_source_create", { name: "open-src", url: remote.url, source_type: "ckan" });
    await act("harvest_source_create", {
      name: "broken-src",
      url: "http://127.0.0.1:9/nothing-here",
      source_type: "ckan",
      check_url: false,
    });
    await act("harvest_source_create", {
      name: "hidden-src",
      title: "Hidden source",
      url: `${remote.url}/other`,
      source_type: "ckan",
      owner_org: "org-a",
      private: true,
    });
    await runJobInProcess(ctx, await getSource(services.sql, "open-src"));
    await runJobInProcess(ctx, await getSource(services.sql, "broken-src"));
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await page.goto(`${url}/harvest`);
      const facets = async () => (await page.locator("aside.facets").textContent() ?? "").replace(/\s+/g, " ");
      assertMatch(await page.textContent("main") ?? "", /2 sources/);
      assertEquals(await page.getByRole("link", { name: "Hidden source" }).count(), 0);
      assert(!(await facets()).includes("org-a"), "a private source's organization is not a facet for outsiders");
      assertMatch(await facets(), /ok \(1\).*errors \(1\)|errors \(1\).*ok \(1\)/);
      await page.getByRole("link", { name: "errors (1)" }).click();
      assertMatch(await page.textContent("main") ?? "", /\b1 source(?!s)/);
      assertEquals(await page.locator("tbody tr").count(), 1);
      assertMatch(await page.locator("tbody").textContent() ?? "", /broken-src/);

      await logIn(page, url, "member", "member password");
      await page.goto(`${url}/harvest?sort=last_run`);
      assertMatch(await page.textContent("main") ?? "", /3 sources/);
      assertMatch(await facets(), /org-a \(1\)/);
      assertMatch(await facets(), /never harvested \(1\)/);
      await page.getByRole("link", { name: "org-a (1)" }).click();
      assertEquals(await page.locator("tbody tr").count(), 1);
      assertMatch(await page.locator("tbody").textContent() ?? "", /Hidden source/);
      await shot(page, "15-source-list-member");
    } finally {
      await browser.close();
    }
  });
});

Deno.test("a cross-site POST, or one without the form token, is refused and changes nothing", async () => {
  await using remote = serveCkanCatalog(sampleCatalog({ count: 3, seed: 6 }));
  await withSite(async ({ services, url }) => {
    const ctx = { services, actor: SITE_ACTOR };
    await runAction(getAction("harvest_source_create")!, ctx, { name: "target", url: remote.url, source_type: "ckan" });
    await runJobInProcess(ctx, await getSource(services.sql, "target"));
    const browser = await launch();
    try {
      const page = await browser.newPage();
      await logIn(page, url);
      const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
      const token = await (async () => {
        await page.goto(`${url}/harvest/target/confirm/clear`);
        return await page.locator('input[name="_csrf"]').first().inputValue();
      })();
      const post = (headers: Record<string, string>, body: string) =>
        fetch(`${url}/harvest/target/clear`, {
          method: "POST",
          redirect: "manual",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie, ...headers },
          body,
        });
      const noToken = await post({}, "");
      assertEquals(noToken.status, 403);
      assertMatch(await noToken.text(), /The form has expired or was not sent from this site/);
      const wrongToken = await post({}, "_csrf=" + "0".repeat(64));
      assertEquals(wrongToken.status, 403);
      await wrongToken.body?.cancel();
      const crossSite = await post({ Origin: "http://evil.example" }, `_csrf=${token}`);
      assertEquals(crossSite.status, 403);
      await crossSite.body?.cancel();
      const [n] = await services.sql`SELECT count(*)::int AS n FROM package WHERE state = 'active'`;
      assertEquals(n!.n, 3, "nothing was cleared");
      // A page on another site that posts the form: the browser sends no token it cannot read.
      const evil = Deno.serve({ hostname: "127.0.0.2", port: 0, onListen() {} }, () =>
        new Response(
          `<form id=f method=post action="${url}/harvest/target/clear"></form><script>f.submit()</script>`,
          { headers: { "Content-Type": "text/html" } },
        ));
      try {
        await page.goto(`http://127.0.0.2:${evil.addr.port}/`);
        await page.waitForLoadState("load");
        await page.waitForURL(`${url}/harvest/target/clear`);
        assertMatch(await page.textContent("main") ?? "", /Refused/);
      } finally {
        await evil.shutdown();
      }
      const [after] = await services.sql`SELECT count(*)::int AS n FROM package WHERE state = 'active'`;
      assertEquals(after!.n, 3);
      // With the token, from the site itself, it works.
      const ok = await post({ Origin: url }, `_csrf=${token}`);
      assertEquals(ok.status, 303);
    } finally {
      await browser.close();
    }
  });
});

Deno.test("the source page: Markdown notes, times in the viewer's zone, searchable datasets; Preview, then Apply; Detect on the new-source form", async () => {
  const catalog = sampleCatalog({ count: 25, seed: 31 });
  await using remote = serveCkanCatalog(catalog);
  const plain = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response("<!doctype html><title>Hello</title><p>Just a page</p>", {
        headers: { "Content-Type": "text/html" },
      }),
  );
  await withSite(async ({ services, url }) => {
    const ctx = { services, actor: SITE_ACTOR };
    await runAction(getAction("harvest_source_create")!, ctx, {
      name: "portal",
      title: "Portal",
      notes: "Harvested **nightly**; see [the portal](https://example.org/portal) or [this](javascript:alert(1)).",
      url: remote.url,
      source_type: "ckan",
      frequency: "DAILY",
    });
    await runJobInProcess(ctx, await getSource(services.sql, "portal"));
    const browser = await launch();
    try {
      const context = await browser.newContext({ timezoneId: "Asia/Tokyo" });
      // Harvested by hand, a DAILY source is due at the scheduler's next tick; the tick then sets its next run.
      const probe = await context.newPage();
      await logIn(probe, url);
      await probe.goto(`${url}/harvest/portal`);
      assertEquals(await probe.textContent("#next-run"), "at the scheduler's next tick");
      await probe.close();
      await setNextRun(services.sql, (await getSource(services.sql, "portal")).id, new Date(Date.now() + 86_400_000));
      const page = await context.newPage();
      await logIn(page, url);
      await page.goto(`${url}/harvest/portal`);
      // The notes as Markdown: emphasis and a safe link; a javascript: link is not made a link.
      assertEquals(await page.textContent("#source-notes strong"), "nightly");
      const link = page.locator("#source-notes a");
      assertEquals(await link.count(), 1);
      assertEquals(await link.getAttribute("href"), "https://example.org/portal");
      assertEquals(await link.getAttribute("rel"), "nofollow noopener noreferrer");
      // Last run relative, in the viewer's zone (Tokyo, UTC+9), without microseconds; next run for DAILY.
      const lastRun = await page.textContent("#last-run") ?? "";
      assertMatch(lastRun, /(seconds?|minutes?) ago|now/);
      assertMatch(lastRun, /GMT\+9/);
      assert(!/\d\d:\d\d:\d\d\.\d/.test(lastRun), `no fractions of seconds: ${lastRun}`);
      const utcHour = Number((await page.locator("#last-run time").getAttribute("datetime"))!.slice(11, 13));
      assertMatch(lastRun, new RegExp(` ${String((utcHour + 9) % 24).padStart(2, "0")}:\\d\\d GMT\\+9`));
      assertMatch(
        await page.textContent("#next-run") ?? "",
        /^(in 23 hours|in 24 hours|tomorrow) \(\d{4}-\d\d-\d\d \d\d:\d\d GMT\+9\)$/,
      );
      // The job chart is dated.
      const today = new Date().toISOString().slice(5, 10);
      assertMatch(await page.locator("figure svg").textContent() ?? "", new RegExp(today));

      // The harvested datasets: paged, searchable, linking to the record.
      assertMatch(await page.textContent("#dataset-count") ?? "", /^25 datasets/);
      assertEquals(await page.locator("#dataset-list tbody tr").count(), 20);
      await page.getByRole("link", { name: "Next" }).click();
      assertEquals(await page.locator("#dataset-list tbody tr").count(), 5);
      const d0 = catalog.datasets[0]! as Record<string, unknown>;
      await page.getByLabel("Search this source's datasets").fill(String(d0.name));
      await page.getByRole("button", { name: "Search" }).click();
      assertMatch(await page.textContent("#dataset-count") ?? "", /^1 dataset match/);
      await shot(page, "16-source-page-datasets");

      // Preview a changed remote: exactly the one update, with its field diff; nothing written yet.
      d0.title = "Renamed upstream";
      d0.metadata_modified = new Date().toISOString().slice(0, 19);
      await page.goto(`${url}/harvest/portal`);
      await page.getByRole("button", { name: "Preview" }).click();
      await page.waitForURL(`${url}/harvest/portal/preview/**`);
      assertEquals(await page.textContent('#plan-counts [data-count="update"] strong'), "1");
      assertEquals(await page.textContent('#plan-counts [data-count="add"] strong'), "0");
      assertMatch(await page.textContent("#plan-updates") ?? "", /title.*Renamed upstream/s);
      await shot(page, "17-preview");
      const [before] = await services.sql`SELECT title FROM package WHERE name = ${String(d0.name)}`;
      assert(before!.title !== "Renamed upstream", "a preview writes nothing");
      await page.getByRole("button", { name: "Apply" }).click();
      await page.waitForURL(`${url}/harvest/portal/job/**`);
      assertMatch(await page.textContent(".flash") ?? "", /Applied: 0 added, 1 updated, 0 withdrawn, 0 failed/);
      const [after] = await services.sql`SELECT title FROM package WHERE name = ${String(d0.name)}`;
      assertEquals(after!.title, "Renamed upstream");

      // The dataset's record shows its history: added, then updated.
      await page.goto(`${url}/harvest/portal?q=${encodeURIComponent(String(d0.name))}`);
      await page.getByRole("link", { name: "record" }).click();
      assertEquals(await page.locator("#dataset-history tbody tr").count(), 2);
      assertMatch(await page.textContent("#dataset-history") ?? "", /updated\s*title/);
      await shot(page, "18-record-history");

      // Detect on the new-source form: a CKAN site is named and chosen; a plain page is not recognised.
      await page.goto(`${url}/harvest/new`);
      await page.getByLabel("URL of the remote catalog").fill(remote.url);
      await page.getByRole("button", { name: "Detect the type" }).click();
      assertMatch(await page.textContent("#detect-result") ?? "", /Detected: ckan/);
      assert(await page.locator('input[name="source_type"][value="ckan"]').isChecked());
      assertEquals(await page.getByLabel("URL of the remote catalog").inputValue(), remote.url);
      await shot(page, "19-detect");
      await page.getByLabel("URL of the remote catalog").fill(`http://127.0.0.1:${plain.addr.port}/`);
      await page.getByRole("button", { name: "Detect the type" }).click();
      assertMatch(await page.textContent("#detect-result") ?? "", /Not recognised/);
    } finally {
      await browser.close();
      await plain.shutdown();
    }
  });
});
