/**
 * The gather stage of a job: streams the harvester's record batches into harvest objects, marks
 * unchanged records at once, publishes the rest batch by batch, then detects deletions.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import { isConnectionError } from "../db/mod.ts";
import { messageOf } from "../errors/mod.ts";
import type { GatherContext, GatheredRecord, Harvester } from "./interface.ts";
import { GatherCounter, GatherLimitError, gatherLimits } from "./limits.ts";
import type { Validators } from "../http/mod.ts";
import {
  claimGather,
  jobDocuments,
  jobWithSource,
  lastErrorFreeJob,
  markFinished,
  markGathered,
  previousCleanJob,
  releaseGather,
  renewGatherLease,
  saveGatherError as storeGatherError,
  saveJobDocuments,
} from "./jobs.ts";
import type { SourceRow } from "./sources.ts";
import type { ClaimedObject } from "./object_types.ts";
import { OBJECT_TRANSITIONS } from "./states.ts";
import {
  completeUnchanged,
  failByGuid,
  type GatheredRow,
  insertExtras,
  insertGathered,
  insertWithdrawals,
  missingFromJob,
  parkObjects,
  saveObjectError,
} from "./objects.ts";
import { dropRelisted, holdDeletions } from "./deletions.ts";
import { contentHash, parseConfig, sourceInfo } from "./stage.ts";
import type { Queryable } from "../db/mod.ts";
import { currentDatasetCount, currentRecordDates, hasCurrentObjects } from "./reports.ts";

const log = getLogger(["harvest", "pipeline"]);

/** The state an object is born in when gathered claimed (`GatherOptions.claim`). */
const CLAIMED_STATE = OBJECT_TRANSITIONS.claim.to;

/** Records a gather error of a job, and logs it. */
export async function saveGatherError(sql: Queryable, jobId: string, message: string): Promise<void> {
  log.info("Gather error for job {jobId}: {message}", { jobId, message });
  await storeGatherError(sql, jobId, message);
}

export interface GatherOptions {
  /**
   * Receives the ids of each batch of new objects that need fetch and import; with `claim`, also those
   * objects as claimed (withdrawals, published at the end, come as ids only).
   */
  publish(objectIds: string[], claimed?: ClaimedObject[]): Promise<void>;
  /**
   * New objects are inserted claimed by this process for the visibility timeout and handed to
   * `publish` whole (`run-test`, which fetches and imports them itself): no claim per lot, no record
   * read back, and a scheduler's sweep of unheld objects running beside it leaves them alone.
   */
  claim?: boolean;
  /**
   * With `claim`, on a source that has no current object (its first harvest): records without extras
   * are not written at gather. They are handed to `publish` unsaved, to be written once, in their
   * final state, with their import (`ClaimedObject.unsaved`), and the gather ends only after `settle`:
   * until then its job is not gathered, so a process that dies before writing them leaves a job whose
   * gather is run again, not one short of records.
   */
  defer?: boolean;
  /** Awaited before the gather ends (deletions, then the job marked gathered). */
  settle?: () => Promise<void>;
  /** Told how many records each batch held, and how many of them were already unchanged. */
  onBatch?(gathered: number, unchanged: number): void;
  signal?: AbortSignal;
  /** Process every record even when it is known unchanged (`run-test GUID`). */
  force?: boolean;
  /** Only some records are processed (`run-test GUID`): no deletion detection. */
  guidFilter?: boolean;
  /** Gathers with this harvester instead of the source type's (`harvester apply` replays a preview). */
  harvester?: Harvester;
  /**
   * Asked once with the source's config: whether new objects are parked as they are inserted (the
   * source has a concurrency cap); `publish` then only tells the source's window there are more
   * (window.ts).
   */
  park?: (config: Record<string, unknown>) => boolean;
}

/** The deletion guard: why withdrawing `missing` of a source's `total` datasets waits for an operator, if it does. */
export function deletionHoldReason(
  listing: { complete: boolean; gathered: number; thresholdPercent: number },
  missing: number,
  total: number,
): string | undefined {
  const share = (missing / Math.max(total, 1)) * 100;
  if (listing.gathered === 0) return "the remote listed no records at all";
  if (!listing.complete) return "the remote's listing was truncated";
  if (share > listing.thresholdPercent) {
    return `${missing} of ${total} datasets (${share.toFixed(1)} %) would be withdrawn, more than the ` +
      `delete_threshold of ${listing.thresholdPercent} %`;
  }
  return undefined;
}

/** A source config's `delete_threshold` (percent), default 20. */
export function deleteThreshold(config: Record<string, unknown>): number {
  return typeof config.delete_threshold === "number" ? config.delete_threshold : 20;
}

/**
 * Finds the source's datasets whose record the remote no longer lists (no object in this job) and
 * withdraws them through objects of this job, or, when that would withdraw more than the threshold
 * of the source's datasets or the listing was empty or truncated, holds them for an operator's
 * approval. Returns the ids of the withdrawal objects to publish.
 */
async function detectDeletions(
  services: Services,
  jobId: string,
  source: SourceRow,
  listing: { complete: boolean; gathered: number; thresholdPercent: number },
  park: boolean,
): Promise<string[]> {
  const { sql } = services;
  return await sql.begin(async (tx) => {
    // A record held for deletion that the remote lists again is no longer a deletion to decide on.
    const relisted = await dropRelisted(tx, source.id, jobId);
    if (relisted > 0) {
      log.info("Dropped {n} held deletion(s) of source {source}: the remote lists those records again", {
        n: relisted,
        source: source.name,
      });
    }
    const missing = await missingFromJob(tx, source.id, jobId);
    if (missing.length === 0) return [];
    const total = await currentDatasetCount(tx, source.id);
    const reason = deletionHoldReason(listing, missing.length, total);
    if (reason) {
      await holdDeletions(tx, source.id, jobId, missing, reason);
      log.warning("Holding {n} deletion(s) of source {source} for approval: {reason}", {
        n: missing.length,
        source: source.name,
        reason,
      });
      return [];
    }
    const ids = await insertWithdrawals(tx, jobId, source.id, missing);
    if (park) await parkObjects(tx, ids);
    return ids;
  });
}

/**
 * Runs the gather stage of a job: streams the harvester's record batches into harvest objects,
 * marks records whose content did not change as "not modified" at once, and publishes the rest
 * batch by batch, so fetching starts before gather ends and memory stays flat.
 * Safe to run again for the same job: records already written are not written twice.
 */
export async function gatherJob(services: Services, jobId: string, options: GatherOptions): Promise<void> {
  const { sql } = services;
  const row = await jobWithSource(sql, jobId);
  if (!row) {
    log.warning("Gather skipped: job {jobId} does not exist", { jobId });
    return;
  }
  if (row.status !== "Running" || row.gather_finished) {
    log.info("Gather skipped: job {jobId} is {status}", { jobId, status: row.status });
    return;
  }
  const lease = services.config.values["ckan.harvest.mq.visibility_timeout"];
  const source = row.source;
  const harvester = options.harvester ?? services.harvesters.get(source.type);
  if (!harvester) {
    await saveGatherError(sql, jobId, `System error - No harvester could be found for source type ${source.type}`);
    await markFinished(sql, jobId, { gatherFinished: true });
    return;
  }
  const configHash = await contentHash(source.type, source.config);
  // Claim the job: a duplicate gather message, or a second consumer, finds it held and skips it.
  const claimed = await claimGather(sql, jobId, configHash, lease);
  if (!claimed) {
    log.info("Gather skipped: job {jobId} is being gathered elsewhere", { jobId });
    return;
  }
  let listing: { complete: boolean } | undefined;
  let gathered = 0;
  let baseline: Promise<Record<string, Validators>> | undefined;
  const documents: Record<string, Validators> = {};
  const notModified = new Set<string>();
  const ctx: GatherContext = {
    reportListing: (l) => {
      listing = l;
    },
    source: sourceInfo(source),
    job: { id: row.id, created: row.created },
    config: parseConfig(source.config),
    http: services.http.forSource(source.name),
    log: getLogger(["harvest", "harvester", source.type]),
    signal: options.signal ?? new AbortController().signal,
    saveGatherError: (message) => saveGatherError(sql, jobId, message),
    lastErrorFreeJob: () => lastErrorFreeJob(sql, source.id, jobId, configHash),
    currentRecords: () => currentRecordDates(sql, source.id),
    documents: {
      async previous(url) {
        // Only the previous run, if it went without errors and with the same config, may be trusted:
        // after a failed import, a 304 would leave the failed records unretried.
        baseline ??= previousCleanJob(sql, source.id, jobId, configHash).then((id) => id ? jobDocuments(sql, id) : {});
        const docs = await baseline;
        return { validators: docs[url], count: Object.keys(docs).length };
      },
      remember(url, validators) {
        if (validators.etag || validators.lastModified) documents[url] = validators;
      },
      notModified(url) {
        notModified.add(url);
      },
    },
  };
  const counter = new GatherCounter(gatherLimits(services.config, ctx.config));
  // A source without datasets yet (its first harvest) has nothing a record could be unchanged from.
  const matchable = await hasCurrentObjects(sql, source.id);
  const park = options.park?.(ctx.config) ?? false;
  const defer = (options.defer ?? false) && (options.claim ?? false) && !matchable && !park && !options.force &&
    !options.guidFilter;
  // The lease is renewed as pages come, at most once per tenth of it.
  let renewed = performance.now();
  try {
    // Each page is counted against the limits before the next one is asked for: a page over a limit,
    // or repeating an earlier one, ends the gather without another request to the remote.
    const taken = readAhead(harvester.gather(ctx), (page: GatheredRecord[]) => {
      const t = page.length === 0 ? undefined : counter.take(page);
      return { value: t, last: t?.full || options.signal?.aborted };
    });
    for await (const page of taken) {
      if (!page) continue;
      const { kept, oversized, full } = page;
      const batch = [...kept, ...oversized.map((r) => ({ ...r, content: undefined, unchanged: false }))];
      gathered += batch.length;
      const { fresh: inserted, unchanged, claimed } = await insertObjects(services, row, batch, {
        force: options.force ?? false,
        matchable,
        park,
        claimFor: options.claim ? lease : undefined,
        defer: defer && oversized.length === 0,
      });
      const fresh = oversized.length ? await failOversized(services, row.id, inserted, oversized, counter) : inserted;
      options.onBatch?.(batch.length, unchanged);
      if (fresh.length > 0) {
        const written = new Set(fresh);
        await options.publish(fresh, claimed?.filter((o) => written.has(o.id)));
      }
      if (performance.now() - renewed > lease * 100) {
        await renewGatherLease(sql, jobId, lease);
        renewed = performance.now();
      }
      if (options.signal?.aborted) throw new Error("Gather interrupted by shutdown");
      if (full) throw new GatherLimitError(counter.recordsMessage());
    }
  } catch (error) {
    // Lost database or broker, or a shutdown: leave the job to be gathered again (idempotently).
    if (isConnectionError(error) || options.signal?.aborted) {
      await releaseGather(sql, jobId).catch(() => {});
      throw error;
    }
    log.warning("Gather of job {jobId} failed: {error}", { jobId, error: messageOf(error) });
    await saveGatherError(
      sql,
      jobId,
      error instanceof GatherLimitError ? messageOf(error) : `Gather stage failed: ${messageOf(error)}`,
    );
    listing = undefined;
  }
  if (options.settle) {
    // The gather stays leased while it waits: its job is not gathered until its unsaved objects are written.
    const renewing = setInterval(() => renewGatherLease(sql, jobId, lease).catch(() => {}), lease * 100);
    try {
      await options.settle();
    } finally {
      clearInterval(renewing);
    }
  }
  if (listing && ctx.config.delete_missing !== false && !options.guidFilter) {
    const ids = await detectDeletions(services, jobId, source, {
      complete: listing.complete,
      gathered,
      thresholdPercent: deleteThreshold(ctx.config),
    }, park);
    if (ids.length > 0) await options.publish(ids);
  }
  // A document that answered 304 keeps its validators from the baseline, for the next conditional request.
  const base = baseline ? await baseline : {};
  for (const url of notModified) if (base[url]) documents[url] = base[url]!;
  await saveJobDocuments(sql, jobId, documents, notModified.size);
  await markGathered(sql, jobId);
}

/**
 * A harvester's pages, each passed through `take` (which may throw), with the next one asked for as
 * soon as `take` accepted one and did not call it the last: the remote's answer and its parsing
 * overlap the writing of the page before (the gather was the serial part of a cold harvest: fetch,
 * parse, write, fetch, ...). At most one page is read ahead. When the consumer stops early, or `take`
 * throws, the harvester's generator is closed once nothing of it is in flight.
 */
export async function* readAhead<T, U>(
  pages: AsyncIterable<T>,
  take: (page: T) => { value: U; last?: boolean },
): AsyncGenerator<U> {
  const it = pages[Symbol.asyncIterator]();
  let next: Promise<IteratorResult<T>> | undefined = it.next();
  let finished = false;
  try {
    for (;;) {
      const r: IteratorResult<T> = await next!;
      next = undefined;
      if (r.done) {
        finished = true;
        return;
      }
      const { value, last } = take(r.value);
      if (!last) {
        next = it.next();
        // A failure of the page read ahead surfaces when it is awaited, not as an unhandled rejection.
        next.catch(() => {});
      }
      yield value;
      if (last) return;
    }
  } finally {
    if (!finished) {
      await next?.catch(() => {});
      await it.return?.();
    }
  }
}

/**
 * Marks the objects of records over `max_record_mb` ERROR with a message naming the limit; their
 * content was never stored. Answers the other inserted objects, which go on to fetch.
 */
async function failOversized(
  services: Services,
  jobId: string,
  inserted: string[],
  oversized: GatheredRecord[],
  counter: GatherCounter,
): Promise<string[]> {
  const { sql } = services;
  const rows = await failByGuid(sql, jobId, inserted, oversized.map((r) => r.guid));
  const byGuid = new Map(oversized.map((r) => [r.guid, r]));
  for (const r of rows) {
    await saveObjectError(sql, r.id, counter.oversizedMessage(byGuid.get(r.guid)!), "Gather");
  }
  const failed = new Set(rows.map((r) => r.id));
  return inserted.filter((id) => !failed.has(id));
}

/**
 * Inserts a batch's objects, completes those known unchanged and parks the rest if asked. Answers
 * the objects to fetch and import, with `claimFor` also as claimed (born leased for that many seconds).
 */
async function insertObjects(
  services: Services,
  job: { id: string; source: SourceRow },
  batch: GatheredRecord[],
  options: { force: boolean; matchable: boolean; park: boolean; claimFor?: number; defer?: boolean },
): Promise<{ fresh: string[]; unchanged: number; claimed?: ClaimedObject[] }> {
  const { sql } = services;
  const { id: jobId, source } = job;
  const { force, matchable, park, claimFor } = options;
  const seen = new Set<string>();
  const rows: GatheredRow[] = [];
  for (const r of batch) {
    if (seen.has(r.guid)) continue;
    seen.add(r.guid);
    rows.push({
      id: crypto.randomUUID(),
      guid: r.guid,
      content: r.content ?? null,
      content_hash: r.content === undefined ? null : await contentHash(source.config, r.content),
      metadata_modified_date: r.metadataModified && !Number.isNaN(Date.parse(r.metadataModified))
        ? new Date(r.metadataModified.endsWith("Z") ? r.metadataModified : `${r.metadataModified}Z`)
        : null,
      harvest_job_id: jobId,
      harvest_source_id: source.id,
    });
  }
  const extrasOf = new Map(batch.map((r) => [r.guid, r.extras ?? {}]));
  const claimedOf = (r: GatheredRow): ClaimedObject => ({
    id: r.id,
    guid: r.guid,
    content: r.content,
    content_hash: r.content_hash,
    extras: extrasOf.get(r.guid)!,
    state: CLAIMED_STATE,
    retry_times: 1,
    harvest_job_id: jobId,
    harvest_source_id: source.id,
    package_id: null,
    job_status: "Running",
    source,
  });
  // Unsaved: written with their import. A guid repeated in a later page is dropped by that insert.
  const later = options.defer
    ? rows.filter((r) => r.content !== null && Object.keys(extrasOf.get(r.guid)!).length === 0)
    : [];
  if (later.length === rows.length) {
    const unsaved = later.map((r) => ({
      ...claimedOf(r),
      unsaved: { metadata_modified_date: r.metadata_modified_date },
    }));
    return { fresh: unsaved.map((o) => o.id), unchanged: 0, claimed: unsaved };
  }
  return await sql.begin(async (tx) => {
    const ids = await insertGathered(tx, rows, claimFor);
    const fresh = new Set(ids);
    const byGuid = new Map(rows.map((x) => [x.guid, x]));
    const extras = batch.flatMap((r) => {
      const row = byGuid.get(r.guid);
      return row && fresh.has(row.id)
        ? Object.entries(r.extras ?? {}).map(([key, value]) => ({
          id: crypto.randomUUID(),
          harvest_object_id: row.id,
          key,
          value,
        }))
        : [];
    });
    await insertExtras(tx, extras);
    if (ids.length === 0) return { fresh: [], unchanged: 0 };
    const known = batch.filter((r) => r.unchanged).map((r) => byGuid.get(r.guid)!.id);
    const done = force || !matchable ? new Set<string>() : await completeUnchanged(tx, ids, known);
    const toQueue = ids.filter((id) => !done.has(id));
    // In the same transaction: no one sees them unparked and unqueued.
    if (park) await parkObjects(tx, toQueue);
    if (claimFor === undefined) return { fresh: toQueue, unchanged: done.size };
    const byId = new Map(rows.map((x) => [x.id, x]));
    const claimed = toQueue.map((id) => claimedOf(byId.get(id)!));
    return { fresh: toQueue, unchanged: done.size, claimed };
  });
}
