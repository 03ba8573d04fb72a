/**
 * A remote CKAN catalog for the multi-host harness, run on its own simulated host: the sample catalog
 * on the host's loopback, behind a proxy on the host's address that counts the requests it is
 * answering at once and writes what it saw to a file (which the driver, outside the namespace, reads).
 *
 *   deno run --allow-net --allow-write=FILE bench/remote_catalog.ts ADDRESS PORT COUNT DELAY_MS FILE [SEED]
 *
 * @module
 */
import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";

const [address, port, count, delay, statsFile, seed] = Deno.args;
if (!address || !port || !count || !statsFile) {
  console.error("usage: remote_catalog.ts ADDRESS PORT COUNT DELAY_MS STATS_FILE");
  Deno.exit(2);
}
const upstream = serveCkanCatalog(sampleCatalog({ count: Number(count), seed: Number(seed ?? 1919) }), {
  delayMs: Number(delay) || undefined,
});
const seen = { inFlight: 0, most: 0, total: 0 };
const write = () => Deno.writeTextFileSync(statsFile, JSON.stringify({ most: seen.most, total: seen.total }));
Deno.serve(
  { hostname: address, port: Number(port), onListen: () => console.log(`remote catalog of ${count} up`) },
  async (req) => {
    seen.inFlight++;
    seen.total++;
    seen.most = Math.max(seen.most, seen.inFlight);
    try {
      const url = new URL(req.url);
      const res = await fetch(`${upstream.url}${url.pathname}${url.search}`);
      return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
    } finally {
      seen.inFlight--;
    }
  },
);
setInterval(write, 200);
