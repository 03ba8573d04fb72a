import { z } from "zod";
import { ValidationError } from "../../errors/mod.ts";
import { RDF_FORMATS } from "./rdf_parse.ts";

const common = {
  delete_missing: z.boolean({ error: "delete_missing must be true or false" }).optional(),
  delete_threshold: z.number({ error: "delete_threshold must be a number of percent" }).min(0).max(100).optional(),
  max_record_kb: z.number({ error: "max_record_kb must be a number of kilobytes" }).int().min(1).max(1_000_000)
    .optional(),
  default_tags: z.array(z.object({ name: z.string() }), { error: 'default_tags must be a list of {"name": ...}' })
    .optional(),
  // The framework's limits per job (harvest/limits.ts), accepted here so a strict config allows them.
  max_records: z.number({ error: "max_records must be a number" }).int().min(1).optional(),
  max_record_mb: z.number({ error: "max_record_mb must be a number of megabytes" }).positive().max(1000).optional(),
  concurrency: z.number({ error: "concurrency must be a number of objects" }).int().min(1).max(100_000).optional(),
};

export const rdfConfigSchema = z.strictObject({
  ...common,
  rdf_format: z.string().refine((v) => v.toLowerCase() in RDF_FORMATS, {
    message: `rdf_format must be one of ${Object.keys(RDF_FORMATS).join(", ")}`,
  }).optional(),
  profile: z.string().optional(),
  max_pages: z.number({ error: "max_pages must be a number" }).int().min(1).max(100_000).optional(),
  remote_contexts: z.boolean({ error: "remote_contexts must be true or false" }).optional(),
});

export const jsonConfigSchema = z.strictObject({
  ...common,
  validation: z.enum(["strict", "lenient"], { error: "validation must be strict or lenient" }).optional(),
  validator_schema: z.enum(["federal", "non-federal", ""], { error: "validator_schema must be federal or non-federal" })
    .optional(),
  max_pages: z.number({ error: "max_pages must be a number" }).int().min(1).optional(),
  max_catalog_mb: z.number({ error: "max_catalog_mb must be a number of megabytes" }).int().min(1).max(100_000)
    .optional(),
});

/** Parses a source config with `schema`, turning every problem into one line naming the key. */
export function parseDcatConfig<S extends z.ZodType>(schema: S, text: string): z.output<S> {
  let raw: unknown = {};
  if (text.trim()) {
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw ValidationError.of("config", `Not valid JSON: ${(error as Error).message}`);
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((i) =>
      i.code === "unrecognized_keys"
        ? `unknown option(s): ${i.keys.join(", ")}`
        : i.path.length
        ? (i.message.includes(String(i.path[0])) ? i.message : `${i.path.join(".")}: ${i.message}`)
        : "The configuration must be a JSON object"
    );
    throw ValidationError.of("config", messages.join("; "));
  }
  return parsed.data;
}
