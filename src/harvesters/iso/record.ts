/**
 * What the three geospatial harvesters (`csw`, `waf`, `single_doc`) share: their config, the
 * optional validation step, and the import of one ISO record through a profile. A record that is not
 * well-formed, is not ISO, or lacks its identifier or title fails alone, with a message naming the
 * element.
 *
 * @module
 */
import { z } from "zod";
import type { ImportContext, StageResult } from "../../harvest/interface.ts";
import { parseDcatConfig } from "../dcat/config.ts";
import { ISO_DEFAULT_PROFILE, type IsoProfile, isoStandard, readIso } from "./iso19139.ts";
import { first, parseXml, text, type XmlElement, XmlError } from "./xml.ts";

/** A validation profile: the problems it finds in a record, each naming its element. */
export interface IsoValidator {
  name: string;
  validate(root: XmlElement): string[];
}

const REQUIRED_19139: [string, string][] = [
  ["gmd:fileIdentifier", "gmd:fileIdentifier/gco:CharacterString"],
  ["gmd:language", "gmd:language"],
  ["gmd:contact", "gmd:contact/gmd:CI_ResponsibleParty"],
  ["gmd:dateStamp", "gmd:dateStamp/gco:DateTime|gco:Date"],
  ["gmd:identificationInfo", "gmd:identificationInfo/gmd:MD_DataIdentification|srv:SV_ServiceIdentification"],
  [
    "gmd:identificationInfo/*/gmd:citation/gmd:CI_Citation/gmd:date",
    "gmd:identificationInfo/*/gmd:citation/gmd:CI_Citation/gmd:date/gmd:CI_Date",
  ],
  ["gmd:identificationInfo/*/gmd:abstract", "gmd:identificationInfo/*/gmd:abstract"],
];

/** The elements ISO 19139 makes mandatory for a record to be useful, checked by presence. */
export const ISO19139_REQUIRED: IsoValidator = {
  name: "iso19139_required",
  validate(root) {
    if (isoStandard(root) !== "iso19139") return [];
    return REQUIRED_19139.filter(([, path]) => !text(first(root, path)) && !first(root, path)?.children.length)
      .map(([name]) => `${name} is required by ISO 19139 and is missing or empty`);
  },
};

export const isoConfigFields = {
  delete_missing: z.boolean({ error: "delete_missing must be true or false" }).optional(),
  delete_threshold: z.number({ error: "delete_threshold must be a number of percent" }).min(0).max(100).optional(),
  default_tags: z.array(z.union([z.string(), z.object({ name: z.string() })]), {
    error: 'default_tags must be a list of tags ("name" or {"name": ...})',
  }).optional(),
  default_extras: z.record(z.string(), z.string(), { error: "default_extras must map keys to strings" }).optional(),
  profile: z.string().optional(),
  validator_profiles: z.array(z.string(), { error: "validator_profiles must be a list of names" }).optional(),
  continue_on_validation_errors: z.boolean({ error: "continue_on_validation_errors must be true or false" })
    .optional(),
  max_records: z.number({ error: "max_records must be a number" }).int().min(1).optional(),
  max_record_mb: z.number({ error: "max_record_mb must be a number of megabytes" }).positive().max(1000).optional(),
  concurrency: z.number({ error: "concurrency must be a number of objects" }).int().min(1).max(100_000).optional(),
  max_pages: z.number({ error: "max_pages must be a number" }).int().min(1).optional(),
};

export type IsoConfig = {
  default_tags?: (string | { name: string })[];
  default_extras?: Record<string, string>;
  profile?: string;
  validator_profiles?: string[];
  continue_on_validation_errors?: boolean;
};

/** The profiles and validators a geospatial harvester knows: the built-in ones and a plugin's. */
export class IsoMappings {
  readonly profiles: Map<string, IsoProfile>;
  readonly validators: Map<string, IsoValidator>;

  constructor(options: { profiles?: IsoProfile[]; validators?: IsoValidator[] } = {}) {
    this.profiles = new Map([ISO_DEFAULT_PROFILE, ...(options.profiles ?? [])].map((p) => [p.name, p]));
    this.validators = new Map([ISO19139_REQUIRED, ...(options.validators ?? [])].map((v) => [v.name, v]));
  }

  /** Checks the profile and validator names of a parsed config. */
  check(config: IsoConfig): void {
    if (config.profile && !this.profiles.has(config.profile)) {
      throw new Error(`profile must be one of ${[...this.profiles.keys()].join(", ")}, not ${config.profile}`);
    }
    for (const v of config.validator_profiles ?? []) {
      if (!this.validators.has(v)) {
        throw new Error(`validator_profiles: ${v} is not one of ${[...this.validators.keys()].join(", ")}`);
      }
    }
  }

  profile(config: IsoConfig): IsoProfile {
    return this.profiles.get(config.profile ?? ISO_DEFAULT_PROFILE.name) ?? ISO_DEFAULT_PROFILE;
  }

  mappingVersion(harvester: string, configText: string, schema: z.ZodType): string | undefined {
    try {
      const p = this.profile(parseDcatConfig(schema, configText) as IsoConfig);
      return `${harvester}/${p.name}@${p.version}`;
    } catch {
      return undefined;
    }
  }

  /** Imports the ISO record stored on the object, through the source's profile. */
  async importRecord(ctx: ImportContext, config: IsoConfig): Promise<StageResult> {
    const { guid } = ctx.object;
    const content = ctx.object.content;
    if (!content?.trim()) {
      await ctx.saveObjectError(`Record ${guid} has no content`, "Import");
      return false;
    }
    let root: XmlElement;
    try {
      root = parseXml(content);
    } catch (error) {
      if (!(error instanceof XmlError)) throw error;
      await ctx.saveObjectError(`Record ${guid}: ${error.message}`, "Import");
      return false;
    }
    if (!isoStandard(root)) {
      await ctx.saveObjectError(
        `Record ${guid} is not an ISO 19139 or ISO 19115-3 record: its root element is <${root.name}> (${
          root.uri || "no namespace"
        }), not gmd:MD_Metadata or mdb:MD_Metadata`,
        "Import",
      );
      return false;
    }
    const problems: string[] = [];
    for (const name of config.validator_profiles ?? []) {
      for (const p of this.validators.get(name)?.validate(root) ?? []) problems.push(`${name}: ${p}`);
    }
    if (problems.length) {
      const stop = !config.continue_on_validation_errors;
      for (const p of problems) await ctx.saveObjectError(p, stop ? "Validation" : "Validation warning");
      if (stop) return false;
    }
    const profile = this.profile(config);
    const values = profile.readValues?.(root) ?? readIso(root);
    const iso3 = values.standard === "iso19115-3";
    if (!values.guid) {
      await ctx.saveObjectError(
        `Record ${guid} has no identifier: ${
          iso3 ? "mdb:metadataIdentifier/mcc:MD_Identifier/mcc:code" : "gmd:fileIdentifier/gco:CharacterString"
        } is missing or empty`,
        "Import",
      );
      return false;
    }
    if (!values.title) {
      await ctx.saveObjectError(
        `Record ${values.guid} has no title: ${
          iso3
            ? "mdb:identificationInfo/*/mri:citation/cit:CI_Citation/cit:title"
            : "gmd:identificationInfo/*/gmd:citation/gmd:CI_Citation/gmd:title"
        } is missing or empty`,
        "Import",
      );
      return false;
    }
    const warnings: string[] = [];
    const pkg = profile.toPackage(values, {
      defaultTags: (config.default_tags ?? []).map((t) => typeof t === "string" ? t : t.name),
      defaultExtras: config.default_extras ?? {},
    }, (m) => warnings.push(m));
    for (const w of warnings) await ctx.saveObjectError(w, "Import warning");
    pkg.owner_org = ctx.source.owner_org;
    return await ctx.catalog.createOrUpdateDataset(pkg);
  }
}

/** Is this text an ISO record? For detection and the single-document harvester. */
export function looksLikeIso(content: string): boolean {
  const head = content.slice(0, 4096);
  return /<([A-Za-z0-9_]+:)?M[DI]_Metadata[\s>]/.test(head);
}
