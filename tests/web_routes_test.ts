/** Web routes kept from the original: /harvest/<source>/job/last (issue 20, part 7). */
import { assertEquals, assertMatch } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { createApp } from "../src/api/mod.ts";
import { getAction, runAction, SITE_ACTOR } from "../src/actions/mod.ts";
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

Deno.test("/harvest/<source>/job/last leads to the newest job, and says so when there is none", async () => {
  await using services = await testServices();
  await using remote = serveCkanCatalog(sampleCatalog({ count: 2, seed: 5 }));
  const act = (n: string, i: Record<string, unknown>) => runAction(getAction(n)!, { services, actor: SITE_ACTOR }, i);
  await act("harvest_source_create", { name: "public-src", url: remote.url, source_type: "ckan", check_url: false });
  const app = createApp(services);
  const none = await app.request("/harvest/public-src/job/last");
  assertEquals(none.status, 404);
  assertMatch(await none.text(), /has no jobs yet/);
  await act("harvest_job_create", { source_id: "public-src", run: false });
  const newest = await act("harvest_job_create", { source_id: "public-src", run: false }).catch(() => undefined);
  assertEquals(newest, undefined, "a second pending job is refused");
  const jobs = await act("harvest_job_list", { source_id: "public-src" }) as { id: string }[];
  const last = await app.request("/harvest/public-src/job/last", { redirect: "manual" });
  assertEquals(last.status, 302);
  assertEquals(last.headers.get("location"), `/harvest/public-src/job/${jobs[0]!.id}`);
});
