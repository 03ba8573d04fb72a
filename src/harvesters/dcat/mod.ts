/**
 * The DCAT harvesters: `dcat_rdf` (RDF catalogs, Hydra paging, a replaceable profile) and
 * `dcat_json` (DCAT-US 1.1 data.json, streamed).
 *
 * @module
 */
export { dcatRdfHarvester } from "./rdf.ts";
export { dcatJsonHarvester, dcatUsToPackage, validateDcatUs } from "./json.ts";
export { type DcatProfile, describe, type Tree } from "./profile.ts";
export { dcatApProfile } from "./dcat_ap.ts";
