import type { Logger } from "@logtape/logtape";
import type { HttpClient, Validators } from "../http/mod.ts";
import type { PackageInput } from "../catalog/mod.ts";

/** What `harvesters_info_show` lists for each harvester. */
export interface HarvesterInfo {
  /** The source type stored on sources, e.g. `ckan`. */
  name: string;
  title: string;
  description: string;
  /** `Text` shows a config textarea in the UI; `Hidden` does not. */
  form_config_interface?: "Text" | "Hidden";
}

/** A stage's answer: done, nothing to do because nothing changed, or failed (errors saved). */
export type StageResult = true | "unchanged" | false;

/** The harvest source a stage works for. */
export interface SourceInfo {
  id: string;
  name: string;
  title: string;
  url: string;
  type: string;
  /** The raw config string as stored. */
  config: string;
  owner_org: string | null;
}

/** One record found by gather. `content` stored at gather saves a fetch per record. */
export interface GatheredRecord {
  guid: string;
  content?: string;
  extras?: Record<string, string>;
  /** The remote's modification time, when the listing gives one. */
  metadataModified?: string;
  /**
   * The harvester knows the record did not change (e.g. an incremental listing). The object is
   * recorded "not modified" at once when the dataset exists locally; otherwise it is fetched.
   */
  unchanged?: boolean;
}

/** One harvest object as a stage sees it. */
export interface ObjectInfo {
  id: string;
  guid: string;
  content: string | null;
  extras: Record<string, string>;
  harvest_job_id: string;
  harvest_source_id: string;
  package_id: string | null;
}

interface StageContext {
  source: SourceInfo;
  job: { id: string; created: Date };
  /** The source config parsed as JSON (`{}` when empty). */
  config: Record<string, unknown>;
  http: HttpClient;
  log: Logger;
  signal: AbortSignal;
}

export interface GatherContext extends StageContext {
  saveGatherError(message: string): Promise<void>;
  /**
   * Tells the framework that the records gathered (including those yielded as `unchanged`) are the
   * remote's whole catalog, or that the listing was truncated. Only then are records that vanished
   * from the remote withdrawn locally (subject to the deletion guard). Harvesters that cannot list
   * everything do not call it, and nothing is ever deleted for them.
   */
  reportListing(listing: { complete: boolean }): void;
  /** The newest Finished job of this source with no errors, the baseline of incremental harvests. */
  lastErrorFreeJob(): Promise<{ id: string; gather_started: Date } | undefined>;
  /**
   * The source's current records: guid to the remote modification time their listing gave last time
   * (`metadataModified`), for harvesters that tell "unchanged" from a listing's dates (a WAF).
   */
  currentRecords(): Promise<Map<string, Date | null>>;
  /**
   * Conditional requests for document sources: the validators (ETag, Last-Modified) of the documents
   * the previous job read, when it went without errors and with the same config, to send with the next GET; what this gather
   * read, to remember; and the documents the remote answered 304 for (counted in the job report).
   */
  documents: DocumentValidators;
}

/** The documents a gather reads, by URL, with the validators of their last error-free read. */
export interface DocumentValidators {
  /** The validators of the previous clean read of `url`, if any; `count` says how many documents that read had. */
  previous(url: string): Promise<{ validators: Validators | undefined; count: number }>;
  /** What the server said identifies the document just read. */
  remember(url: string, validators: Validators): void;
  /** The server answered 304: the document is unchanged since the validators were taken. */
  notModified(url: string): void;
}

/** A local group or organization as the import sees it. */
export interface GroupRef {
  id: string;
  name: string;
}

/** What import may do to the local catalog on behalf of its object. */
export interface ImportCatalog {
  findGroup(idOrName: string, kind: "group" | "organization"): Promise<GroupRef | undefined>;
  createGroup(
    dict: { id?: string; name: string; title?: string; description?: string; image_url?: string },
    kind: "group" | "organization",
  ): Promise<GroupRef>;
  /**
   * Creates or updates the dataset identified by (source, object guid) and makes this object the
   * current one. Answers "unchanged" (and keeps the previous object current) when nothing changed.
   */
  createOrUpdateDataset(pkg: PackageInput): Promise<true | "unchanged">;
  /** Withdraws the dataset identified by (source, guid), if any; the object is reported `deleted`. */
  deleteDataset(): Promise<boolean>;
}

export interface ObjectContext extends StageContext {
  object: ObjectInfo;
  /** True when an operator asked to import even if nothing changed (`run-test GUID`, `import`). */
  forceImport: boolean;
  saveObjectError(message: string, stage?: string, line?: number): Promise<void>;
}

export interface FetchContext extends ObjectContext {
  setContent(content: string): void;
}

export interface ImportContext extends ObjectContext {
  catalog: ImportCatalog;
  /** Values of `ckan.harvest.*` settings that shape datasets. */
  settings: { notOverwriteFields: string[]; nameAppend: "number-sequence" | "random-hex" };
}

/** Lookups `validateConfig` may need. */
export interface ValidateContext {
  groupExists(idOrName: string): Promise<boolean>;
  userExists(name: string): Promise<boolean>;
}

/**
 * A harvester plugin: the TypeScript form of ckanext-harvest's `IHarvester`.
 *
 * @example
 * ```ts
 * const harvester: Harvester = {
 *   info: () => ({ name: "mine", title: "Mine", description: "Harvests my catalog" }),
 *   async *gather(ctx) { yield [{ guid: "a", content: "{}" }]; },
 *   fetch: () => Promise.resolve(true),
 *   async import(ctx) { return await ctx.catalog.createOrUpdateDataset({ title: "A" }); },
 * };
 * ```
 */
export interface Harvester {
  info(): HarvesterInfo;
  /**
   * Checks a source config; throws a `ValidationError` (or any Error, whose message is shown) when it is
   * not acceptable, and returns the config string to store (possibly rewritten).
   */
  validateConfig?(config: string, ctx: ValidateContext): string | Promise<string>;
  /**
   * Checks, when a source is created, that its URL answers like the catalog this harvester reads;
   * `config` is the source's validated config (it may hold credentials the remote asks for).
   */
  checkUrl?(url: string, http: HttpClient, config?: string): Promise<void>;
  /** Where an operator can see the remote record of an object, for the job report. */
  getOriginalUrl?(object: ObjectInfo, source: SourceInfo): string | undefined;
  /** Fields of the config that are secret: redacted for everyone who may not edit the source. */
  secretConfigKeys?(): string[];
  /**
   * The mapping this harvester applies for a source config, named with its revision (a profile and
   * the version of its field table). Stored on each object it imports; `harvester reimport
   * --stale-mapping` re-derives the datasets made by another one from their stored content.
   */
  mappingVersion?(config: string): string | undefined;
  /** Lists the remote records, page by page. Failures are saved with `ctx.saveGatherError`. */
  gather(ctx: GatherContext): AsyncIterable<GatheredRecord[]>;
  fetch(ctx: FetchContext): Promise<StageResult>;
  import(ctx: ImportContext): Promise<StageResult>;
}
