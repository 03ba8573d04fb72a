import { sampleCatalog } from "../src/demo/sample_catalog.ts";
import { serveCkanCatalog } from "../src/demo/ckan_server.ts";
const remote = serveCkanCatalog(sampleCatalog({ count: Number(Deno.args[0] ?? 20000), seed: 424242 }));
console.log(remote.url);
await new Promise(() => {});
