/**
 * The `dcat_json` harvester: DCAT-US 1.1 `data.json` catalogs (an object with a `dataset` array)
 * and plain DCAT JSON (a top-level array of datasets), read as a stream record by record, so a
 * catalog of hundreds of megabytes keeps memory flat. Each record is checked against DCAT-US 1.1 at
 * import: errors fail the record, warnings are kept apart (stage "Validation warning").
 *
 * @module
 */
import type { JSONParser } from "@streamparser/json";
import type { GatheredRecord, Harvester, ImportContext, ObjectInfo } from "../../harvest/interface.ts";
import { messageOf, NotModifiedError } from "../../errors/mod.ts";
import { jsonConfigSchema, parseDcatConfig } from "./config.ts";
import { importRecord, recordContent, TOO_LARGE } from "./record.ts";
import { DCAT_US_MAPPING_REVISION, dcatUsToPackage, schemaErrors } from "./dcat_us.ts";

export { dcatUsToPackage };

type Dict = Record<string, unknown>;
const BATCH = 200;
const MODE_EXTRA = "dcat_json_mode";

/** Reads records off a stream of JSON, `BATCH` at a time, whichever of the two catalog shapes it is. */
async function* streamRecords(stream: ReadableStream<Uint8Array>): AsyncGenerator<{ records: Dict[]; mode: string }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let parser: JSONParser | undefined;
  let mode = "dcat-us-1.1";
  let pending: Dict[] = [];
  let bad = 0;
  let first = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!parser) {
        first += decoder.decode(value, { stream: true });
        const start = first.trimStart()[0];
        if (!start) continue;
        if (start !== "{" && start !== "[") throw new Error("The catalog is not JSON: it starts with neither { nor [");
        mode = start === "[" ? "plain" : "dcat-us-1.1";
        // Loaded on first use, as the other format parsers are.
        const { JSONParser } = await import("@streamparser/json");
        parser = new JSONParser({ paths: [mode === "plain" ? "$.*" : "$.dataset.*"], keepStack: false });
        parser.onValue = ({ value }) => {
          if (value && typeof value === "object" && !Array.isArray(value)) pending.push(value as Dict);
          else bad++;
        };
        parser.write(first);
      } else parser.write(value);
      if (pending.length >= BATCH) {
        yield { records: pending, mode };
        pending = [];
      }
    }
    if (!parser) throw new Error("The catalog is empty");
    if (!parser.isEnded) parser.end();
  } finally {
    reader.releaseLock();
  }
  if (pending.length) yield { records: pending, mode };
  if (bad) throw new Error(`${bad} entr${bad === 1 ? "y is" : "ies are"} not JSON objects and were skipped`);
}

const ACCESS_LEVELS = ["public", "restricted public", "non-public"];
const ISO_DATE = /^\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?$|^R\/|^P/;
const str = (v: unknown): string | undefined => typeof v === "string" && v.trim() ? v.trim() : undefined;

/** DCAT-US 1.1 checks: errors (a required field missing or malformed) and warnings (the rest). */
export function validateDcatUs(record: Dict, mode: string): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const need = (field: string, ok: boolean, message = `${field} is required`) => {
    if (!ok) (mode === "plain" && !["title", "identifier"].includes(field) ? warnings : errors).push(message);
  };
  need("title", !!str(record.title));
  need("identifier", !!str(record.identifier));
  need("description", !!str(record.description));
  need(
    "keyword",
    Array.isArray(record.keyword) && record.keyword.some((k) => !!str(k)),
    "keyword is required: a list of at least one string",
  );
  need("modified", !!str(record.modified));
  const publisher = record.publisher as Dict | undefined;
  need("publisher", !!str(publisher?.name), "publisher is required, with a name");
  const contact = record.contactPoint as Dict | undefined;
  need(
    "contactPoint",
    !!str(contact?.fn) && !!str(contact?.hasEmail),
    "contactPoint is required, with fn and hasEmail",
  );
  need(
    "accessLevel",
    ACCESS_LEVELS.includes(String(record.accessLevel)),
    `accessLevel must be one of ${ACCESS_LEVELS.join(", ")}`,
  );
  if (str(record.modified) && !ISO_DATE.test(String(record.modified))) {
    warnings.push(`modified is not an ISO 8601 date: ${record.modified}`);
  }
  if (str(contact?.hasEmail) && !/^mailto:[^@\s]+@[^@\s]+$/.test(String(contact!.hasEmail))) {
    warnings.push(`contactPoint.hasEmail should be mailto:address, not ${contact!.hasEmail}`);
  }
  if (mode !== "plain") {
    if (!Array.isArray(record.bureauCode)) warnings.push("bureauCode is missing (required for US federal agencies)");
    if (!Array.isArray(record.programCode)) warnings.push("programCode is missing (required for US federal agencies)");
  }
  if (str(record.license) && !/^https?:\/\//.test(String(record.license))) {
    warnings.push(`license should be a URL, not ${record.license}`);
  }
  const distributions = Array.isArray(record.distribution) ? record.distribution as Dict[] : [];
  distributions.forEach((d, i) => {
    if (!str(d?.downloadURL) && !str(d?.accessURL)) {
      warnings.push(`distribution ${i + 1} has neither downloadURL nor accessURL`);
    }
    if (str(d?.downloadURL) && !str(d?.mediaType)) {
      warnings.push(`distribution ${i + 1} has a downloadURL but no mediaType`);
    }
  });
  return { errors, warnings };
}

function originalUrl(object: ObjectInfo): string | undefined {
  try {
    const record = JSON.parse(object.content ?? "{}") as Dict;
    const candidate = str(record.landingPage) ?? object.guid;
    return /^https?:\/\//.test(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
}

export function dcatJsonHarvester(): Harvester {
  return {
    info: () => ({
      name: "dcat_json",
      title: "DCAT JSON (data.json)",
      description: "Harvests DCAT-US 1.1 data.json catalogs and plain DCAT JSON, streamed record by record, each " +
        "record checked against DCAT-US 1.1",
      form_config_interface: "Text",
    }),
    validateConfig(config) {
      parseDcatConfig(jsonConfigSchema, config);
      return config;
    },
    getOriginalUrl: (object) => originalUrl(object),
    mappingVersion: () => `dcat_json/datajson@${DCAT_US_MAPPING_REVISION}`,
    async *gather(ctx) {
      const config = parseDcatConfig(jsonConfigSchema, ctx.source.config);
      const limitKb = config.max_record_kb ?? 1024;
      let complete = true;
      try {
        const { validators } = await ctx.documents.previous(ctx.source.url);
        const { stream, validators: now } = await ctx.http.openStream(ctx.source.url, {
          signal: ctx.signal,
          maxBytes: (config.max_catalog_mb ?? 2048) * 1024 * 1024,
          validators,
        });
        ctx.documents.remember(ctx.source.url, now);
        let n = 0;
        for await (const { records, mode } of streamRecords(stream)) {
          const batch: GatheredRecord[] = [];
          for (const record of records) {
            n++;
            const guid = str(record.identifier);
            if (!guid) {
              await ctx.saveGatherError(
                `Record ${n} has no identifier, so it cannot be followed between runs: skipped (title: ${
                  str(record.title) ?? "none"
                })`,
              );
              continue;
            }
            batch.push({
              guid,
              content: recordContent(JSON.stringify(record), limitKb),
              extras: { [MODE_EXTRA]: mode },
            });
          }
          if (batch.length) yield batch;
        }
      } catch (error) {
        if (error instanceof NotModifiedError) {
          // Unchanged since the last error-free run (HTTP 304): nothing read or parsed, nothing withdrawn.
          ctx.documents.notModified(ctx.source.url);
          ctx.log.info("{url} is not modified since the last run (HTTP 304)", { url: ctx.source.url });
        } else await ctx.saveGatherError(`Error reading the catalog ${ctx.source.url}: ${messageOf(error)}`);
        complete = false;
      }
      ctx.reportListing({ complete });
    },
    fetch: () => Promise.resolve(true),
    async import(ctx: ImportContext) {
      const config = parseDcatConfig(jsonConfigSchema, ctx.source.config);
      const record = JSON.parse(ctx.object.content ?? "{}") as Dict;
      if (!record[TOO_LARGE]) {
        // A numeric title is a title (ckanext-datajson makes it a string before validating).
        if (typeof record.title === "number") record.title = String(record.title);
        const mode = ctx.object.extras[MODE_EXTRA] ?? "dcat-us-1.1";
        const checked = validateDcatUs(record, mode);
        let { errors, warnings } = checked;
        if ((config.validation ?? "strict") === "strict" && mode !== "plain") {
          // Strict: what GSA's harvesters reject against the DCAT-US 1.1 schema is rejected here.
          errors = await schemaErrors(record, config.validator_schema === "non-federal" ? "non-federal" : "federal");
          const failed = new Set(errors.map((e) => e.split(/[ :.[]/)[0]));
          warnings = warnings.filter((w) => !failed.has(w.split(/[ :.[]/)[0]!));
        }
        for (const w of warnings) await ctx.saveObjectError(w, "Validation warning");
        if (errors.length) {
          for (const e of errors) await ctx.saveObjectError(e, "Validation");
          return false;
        }
      }
      return await importRecord(ctx, () => dcatUsToPackage(record), config.default_tags);
    },
  };
}
