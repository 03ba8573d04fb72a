/**
 * The geospatial harvesters (`csw`, `waf`, `single_doc`) and their ISO 19139 / 19115-3 mapping.
 *
 * @module
 */
export { cswHarvester } from "./csw.ts";
export { singleDocHarvester, wafHarvester } from "./waf.ts";
export { ISO_DEFAULT_PROFILE, type IsoProfile, type IsoValues } from "./iso19139.ts";
export { ISO19139_REQUIRED, type IsoValidator } from "./record.ts";
