/**
 * Preview, then apply (`harvester plan`, `harvester apply`): a dry run of a source through the
 * framework, for every harvester. Gather and fetch run as in a job, against the remote; each lot's
 * imports run in a transaction that is always rolled back, so the local catalog answers exactly what a
 * job would do (names, groups, "not modified", the deletion guard) and keeps nothing. Applying runs a
 * fresh dry run first and refuses when its fingerprint differs from the preview's (the remote, or the
 * local datasets, changed since); otherwise a job writes what that run fetched, with nothing fetched
 * twice (src/harvest/apply.ts).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import type { Tx } from "../db/mod.ts";
import { isConnectionError } from "../db/mod.ts";
import { messageOf, ValidationError } from "../errors/mod.ts";
import type { Validators } from "../http/mod.ts";
import { modifiedTimes, packageNameAndTitle } from "../catalog/package.ts";
import type { FieldChange } from "../catalog/diff.ts";
import type { FetchContext, GatherContext, GatheredRecord, Harvester, ImportContext } from "./interface.ts";
import { GatherCounter, GatherLimitError, gatherLimits } from "./limits.ts";
import { lastErrorFreeJob } from "./jobs.ts";
import { currentRecordDates } from "./reports.ts";
import type { SourceRow } from "./sources.ts";
import { contentHash, parseConfig, sourceInfo } from "./stage.ts";
import { readLotLinks, TxImportCatalog } from "./import_catalog.ts";
import { deleteThreshold, deletionHoldReason } from "./gather.ts";
import { currentDatasets, insertPlan, type PlanRow } from "./plans.ts";

const log = getLogger(["harvest", "plan"]);

export type PlanAction = "add" | "update" | "leave" | "withdraw" | "error";

/** One record a run would change (records left alone are only counted). */
export interface PlanItem {
  guid: string;
  action: PlanAction;
  /** The local dataset an update or a withdrawal touches. */
  dataset?: { id: string; name: string; title: string };
  /** The title and the name a new dataset gets. */
  title?: string;
  name?: string;
  /** An update's field-level diff against the stored dataset. */
  changes?: FieldChange[];
  /** Why the record would fail. */
  errors?: string[];
  /** The first 12 hex digits of the record's content hash. */
  hash?: string;
}

export interface PlanSummary {
  source_id: string;
  source_name: string;
  counts: Record<PlanAction, number>;
  /** Withdrawals the deletion guard would hold for an operator, and why. */
  held_deletions?: { count: number; reason: string };
  gather_errors: string[];
  /** False when the remote's listing was not complete, so nothing would be withdrawn. */
  complete_listing: boolean;
  seconds: number;
}

/** A record as a dry run fetched it, for the job that applies the run. */
interface Fetched {
  /** What the harvester's fetch answered; with errors, it failed. */
  result: true | "unchanged" | false;
  errors: string[];
}

/** A dry run: the preview, and what an apply replays. */
export interface DryRun {
  items: PlanItem[];
  summary: PlanSummary;
  fingerprint: string;
  pages: GatheredRecord[][];
  fetched: Map<string, Fetched>;
  listing: { complete: boolean } | undefined;
  /** Gather errors the harvester saved. */
  savedErrors: string[];
  /**
   * What the gather stage failed with: an error of the harvester, a limit the framework's counter
   * threw on (a repeated page, too many pages), or `max_records` reached on the last page kept.
   */
  failure: { message: string; kind: "error" | "limit" | "records" } | undefined;
  validators: Map<string, Validators>;
}

const emptyCounts = (): Record<PlanAction, number> => ({ add: 0, update: 0, leave: 0, withdraw: 0, error: 0 });

/** Rolls a dry run's lot back, carrying its results out of the transaction. */
class Rollback<T> extends Error {
  constructor(readonly value: T) {
    super("dry run");
  }
}

/**
 * Gathers, fetches and imports a source without keeping anything: answers what a job would do now.
 * `keep` holds the fetched records in memory, for an apply to write.
 */
export async function dryRun(services: Services, source: SourceRow, keep: boolean): Promise<DryRun> {
  const started = performance.now();
  const { sql } = services;
  const harvester = services.harvesters.get(source.type);
  if (!harvester) throw ValidationError.of("source_type", `No harvester could be found for source type ${source.type}`);
  const config = parseConfig(source.config);
  const configHash = await contentHash(source.type, source.config);
  const current = new Map((await currentDatasets(sql, source.id)).map((d) => [d.guid, d]));
  const run: DryRun = {
    items: [],
    summary: {
      source_id: source.id,
      source_name: source.name,
      counts: emptyCounts(),
      gather_errors: [],
      complete_listing: false,
      seconds: 0,
    },
    fingerprint: "",
    pages: [],
    fetched: new Map(),
    listing: undefined,
    savedErrors: [],
    failure: undefined,
    validators: new Map(),
  };
  const lines: string[] = [];
  const add = (item: PlanItem, line: string) => {
    run.summary.counts[item.action]++;
    lines.push(`${item.guid}\u0000${item.action}\u0000${line}`);
    if (item.action !== "leave") run.items.push(item);
  };
  const planId = crypto.randomUUID();
  const base = {
    source: sourceInfo(source),
    job: { id: planId, created: new Date() },
    config,
    http: services.http.forSource(source.name),
    log: getLogger(["harvest", "harvester", source.type]),
    signal: new AbortController().signal,
  };
  const ctx: GatherContext = {
    ...base,
    saveGatherError: (message) => {
      run.savedErrors.push(message);
      return Promise.resolve();
    },
    reportListing: (l) => {
      run.listing = l;
    },
    lastErrorFreeJob: () => lastErrorFreeJob(sql, source.id, "", configHash),
    currentRecords: () => currentRecordDates(sql, source.id),
    // A preview reads every document in full: a 304 would say nothing about what changed.
    documents: {
      previous: () => Promise.resolve({ validators: undefined, count: 0 }),
      remember: (url, v) => {
        if (v.etag || v.lastModified) run.validators.set(url, v);
      },
      notModified: () => {},
    },
  };
  const counter = new GatherCounter(gatherLimits(services.config, config));
  const seen = new Set<string>();
  let gathered = 0;
  let full = false;
  try {
    for await (const page of harvester.gather(ctx)) {
      if (page.length === 0) continue;
      const taken = counter.take(page);
      const { kept, oversized } = taken;
      full = taken.full;
      const lot: GatheredRecord[] = [];
      const replay: GatheredRecord[] = [];
      for (const r of [...kept, ...oversized]) {
        if (seen.has(r.guid)) continue;
        seen.add(r.guid);
        gathered++;
        if (oversized.includes(r)) {
          add({ guid: r.guid, action: "error", errors: [counter.oversizedMessage(r)] }, "oversized");
          replay.push(r);
        } else lot.push(r);
      }
      replay.push(...await previewLot(services, harvester, base, source, lot, current, add, run.fetched));
      if (keep) run.pages.push(replay);
      if (full) throw new GatherLimitError(counter.recordsMessage());
    }
  } catch (error) {
    if (isConnectionError(error)) throw error;
    const kind = !(error instanceof GatherLimitError) ? "error" : full ? "records" : "limit";
    run.failure = { message: messageOf(error), kind };
    run.listing = undefined;
  }
  const failure = run.failure;
  run.summary.gather_errors = [...run.savedErrors];
  if (failure) {
    run.summary.gather_errors.push(
      failure.kind === "error" ? `Gather stage failed: ${failure.message}` : failure.message,
    );
  }
  run.summary.complete_listing = run.listing?.complete ?? false;
  if (run.listing && config.delete_missing !== false) {
    const missing = [...current.values()].filter((d) => !seen.has(d.guid));
    if (missing.length > 0) {
      const threshold = deleteThreshold(config);
      const reason = deletionHoldReason(
        { ...run.listing, gathered, thresholdPercent: threshold },
        missing.length,
        current.size,
      );
      if (reason) {
        run.summary.held_deletions = { count: missing.length, reason };
        lines.push(`\u0000held\u0000${missing.length}\u0000${reason}`);
      } else {
        for (const d of missing.sort((a, b) => a.name.localeCompare(b.name))) {
          add(
            { guid: d.guid, action: "withdraw", dataset: { id: d.package_id, name: d.name, title: d.title } },
            d.package_id,
          );
        }
      }
    }
  }
  // The local side of each update: a dataset edited since the preview makes the apply refuse.
  const stamps = await modifiedTimes(sql, run.items.filter((i) => i.action === "update").map((i) => i.dataset!.id));
  for (const item of run.items) {
    if (item.action === "update") lines.push(`${item.guid}\u0000local\u0000${stamps.get(item.dataset!.id) ?? ""}`);
  }
  lines.push(...run.summary.gather_errors.map((e) => `\u0000gather\u0000${e}`));
  lines.sort();
  run.fingerprint = await contentHash("plan", lines.join("\n"));
  run.summary.seconds = Math.round((performance.now() - started) / 10) / 100;
  return run;
}

type StageBase = Omit<FetchContext, "object" | "forceImport" | "saveObjectError" | "setContent">;

/**
 * Fetches a lot's records and imports them in one transaction that is rolled back, each in a
 * savepoint of its own so one failure costs the others nothing. Answers the records as they would be
 * gathered again by the apply (with their fetched content).
 */
async function previewLot(
  services: Services,
  harvester: Harvester,
  base: StageBase,
  source: SourceRow,
  lot: GatheredRecord[],
  current: Map<string, { package_id: string; name: string; title: string }>,
  add: (item: PlanItem, line: string) => void,
  fetchedBy: Map<string, Fetched>,
): Promise<GatheredRecord[]> {
  const replay: GatheredRecord[] = [];
  const ready: { record: GatheredRecord; hash: string | null; object: ImportContext["object"] }[] = [];
  for (const r of lot) {
    const local = current.get(r.guid);
    // A record the remote says did not change, of a dataset this source holds: a job leaves it.
    if (r.unchanged && local) {
      add({ guid: r.guid, action: "leave" }, "unchanged");
      replay.push(r);
      continue;
    }
    const object = {
      id: crypto.randomUUID(),
      guid: r.guid,
      content: r.content ?? null,
      extras: r.extras ?? {},
      harvest_job_id: base.job.id,
      harvest_source_id: source.id,
      package_id: local?.package_id ?? null,
    };
    const errors: string[] = [];
    let content = r.content;
    let result: Fetched["result"];
    try {
      result = await harvester.fetch({
        ...base,
        object,
        forceImport: false,
        saveObjectError: (message) => {
          errors.push(message);
          return Promise.resolve();
        },
        setContent: (c) => {
          content = c;
          object.content = c;
        },
      });
    } catch (error) {
      if (isConnectionError(error)) throw error;
      errors.push(messageOf(error));
      result = false;
    }
    fetchedBy.set(r.guid, { result, errors });
    const hash = content === undefined ? null : await contentHash(source.config, content);
    replay.push({ ...r, content, unchanged: false });
    if (result === "unchanged") add({ guid: r.guid, action: "leave" }, "fetch unchanged");
    else if (result === false) {
      add({ guid: r.guid, action: "error", errors: errors.length ? errors : ["Fetch failed"] }, errors.join("; "));
    } else ready.push({ record: r, hash, object });
  }
  if (ready.length === 0) return replay;
  const settings = {
    notOverwriteFields: services.config.values["ckan.harvest.not_overwrite_fields"],
    nameAppend: services.config.values["ckanext.harvest.default_dataset_name_append"],
  };
  type Outcome = { item: PlanItem; line: string };
  let outcomes: Outcome[] = [];
  try {
    await services.sql.begin(async (tx) => {
      const links = await readLotLinks(tx, ready.map((r) => ({ sourceId: source.id, guid: r.record.guid })));
      const out: Outcome[] = [];
      for (const r of ready) out.push(await previewImport(tx, harvester, base, settings, r, links, current));
      throw new Rollback(out);
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
    outcomes = error.value as Outcome[];
  }
  for (const o of outcomes) add(o.item, o.line);
  return replay;
}

/** One record's import inside a savepoint of the lot's rolled-back transaction. */
async function previewImport(
  tx: Tx,
  harvester: Harvester,
  base: StageBase,
  settings: ImportContext["settings"],
  r: { record: GatheredRecord; hash: string | null; object: ImportContext["object"] },
  links: Awaited<ReturnType<typeof readLotLinks>>,
  current: Map<string, { package_id: string; name: string; title: string }>,
): Promise<{ item: PlanItem; line: string }> {
  const guid = r.record.guid;
  const hash = r.hash ?? "";
  const errors: string[] = [];
  const importBase = {
    ...base,
    object: r.object,
    forceImport: false,
    settings,
    saveObjectError: (message: string) => {
      errors.push(message);
      return Promise.resolve();
    },
  };
  try {
    return await tx.savepoint(async (sp) => {
      // Groups go into the transaction too: a preview creates nothing.
      const catalog = new TxImportCatalog(sp, sp, undefined, importBase, r.hash, links);
      const result = await harvester.import({ ...importBase, catalog });
      if (result === "unchanged" || (result === true && catalog.outcome === undefined)) {
        return { item: { guid, action: "leave" }, line: `leave ${hash}` };
      }
      if (result !== true) {
        return {
          item: { guid, action: "error", errors: errors.length ? errors : ["Import failed"], hash: hash.slice(0, 12) },
          line: `${hash}\u0000${errors.join("; ")}`,
        };
      }
      const local = current.get(guid);
      if (catalog.outcome === "deleted") {
        const dataset = local && { id: local.package_id, name: local.name, title: local.title };
        return { item: { guid, action: "withdraw", dataset }, line: local?.package_id ?? "" };
      }
      if (catalog.outcome === "updated" && local) {
        return {
          item: {
            guid,
            action: "update",
            dataset: { id: local.package_id, name: local.name, title: local.title },
            changes: catalog.changes ?? [],
            hash: hash.slice(0, 12),
          },
          line: hash,
        };
      }
      // The dataset as the import wrote it, before the rollback: its title and the name it would get.
      const written = catalog.link ? await packageNameAndTitle(sp, catalog.link) : undefined;
      return {
        item: { guid, action: "add", title: written?.title, name: written?.name, hash: hash.slice(0, 12) },
        line: hash,
      };
    });
  } catch (error) {
    if (isConnectionError(error)) throw error;
    const message = messageOf(error);
    return {
      item: { guid, action: "error", errors: [...errors, message], hash: hash.slice(0, 12) },
      line: `${hash}\u0000${message}`,
    };
  }
}

/** A stored preview as the actions show it. */
export interface PlanDict extends PlanSummary {
  id: string;
  created: string;
  creator_user_id: string | null;
  applied_job_id: string | null;
  applied: string | null;
  /** When an apply stops being accepted. */
  expires: string;
  items: PlanItem[];
}

export function planDict(row: PlanRow, maxAgeHours: number): PlanDict {
  return {
    id: row.id,
    created: row.created.toISOString(),
    creator_user_id: row.creator_user_id,
    applied_job_id: row.applied_job_id,
    applied: row.applied?.toISOString() ?? null,
    expires: new Date(row.created.getTime() + maxAgeHours * 3_600_000).toISOString(),
    ...(row.summary as unknown as PlanSummary),
    items: row.items as PlanItem[],
  };
}

export async function storePlan(services: Services, run: DryRun, creator: string | null): Promise<PlanRow> {
  return await insertPlan(services.sql, {
    id: crypto.randomUUID(),
    source_id: run.summary.source_id,
    creator_user_id: creator,
    fingerprint: run.fingerprint,
    summary: run.summary as unknown as Record<string, unknown>,
    items: run.items,
  });
}

/** Previews a source: a dry run, stored so it can be applied. */
export async function planSource(services: Services, source: SourceRow, creator: string | null): Promise<PlanRow> {
  const run = await dryRun(services, source, false);
  log.info("Preview of {source}: {counts}", { source: source.name, counts: JSON.stringify(run.summary.counts) });
  return await storePlan(services, run, creator);
}
