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
import { countingProxy } from "../tests/counting_proxy.ts";

const [address, port, count, delay, statsFile, seed] = Deno.args;
if (!address || !port || !count || !statsFile) {
  console.error("usage: remote_catalog.ts ADDRESS PORT COUNT DELAY_MS STATS_FILE");
  Deno.exit(2);
}
const upstream = serveCkanCatalog(sampleCatalog({ count: Number(count), seed: Number(seed ?? 1919) }), {
  delayMs: Number(delay) || undefined,
});
const { seen } = countingProxy(upstream.url, {
  hostname: address,
  port: Number(port),
  onListen: () => console.log(`remote catalog of ${count} up`),
});
const write = () => Deno.writeTextFileSync(statsFile, JSON.stringify({ most: seen.most, total: seen.total }));
setInterval(write, 200);
