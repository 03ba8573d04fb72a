import { GatherCounter, GatherLimitError, gatherLimits } from "./limits.ts";
import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import type { Queryable, Tx } from "../db/mod.ts";
import { messageOf, ValidationError } from "../errors/mod.ts";
import { isConnectionError } from "../db/mod.ts";
import type {
  FetchContext,
  GatherContext,
  GatheredRecord,
  Harvester,
  ImportContext,
  ObjectInfo,
  SourceInfo,
  StageResult,
} from "./interface.ts";
import { type JobRow, lastErrorFreeJob } from "./jobs.ts";
import type { SourceRow } from "./sources.ts";
import { type LotLinks, readLotLinks, TxImportCatalog, withdrawDataset } from "./import_catalog.ts";
import type { ReportStatus } from "./dicts.ts";

const log = getLogger(["harvest", "pipeline"]);

/**
 * A harvest fills tables fast, often from empty. Prepared statements' generic plans made while they
 * were small (sequential scans) then slow every import down as they grow (335 instead of 568
 * datasets/s at 15,000 in the benchmark). Fresh statistics invalidate those plans, so this process
 * refreshes them after 1,000 imports, then 2,000 more, 4,000 more, and so on.
 */
let writesSinceAnalyze = 0;
let analyzeEvery = 1000;
async function noteWrites(services: Services, n: number): Promise<void> {
  writesSinceAnalyze += n;
  if (writesSinceAnalyze < analyzeEvery) return;
  writesSinceAnalyze = 0;
  // The tables roughly double between refreshes, so statistics stay proportionally fresh.
  analyzeEvery = Math.min(analyzeEvery * 2, 256_000);
  await services.sql`ANALYZE harvest_object, package, package_extra, package_tag, package_group, resource`
    .catch((error) => log.debug("ANALYZE failed: {error}", { error: String(error) }));
}

/** Deliveries of one object before it is given up as ERROR. */
export const MAX_ATTEMPTS = 5;

export function sourceInfo(s: SourceRow): SourceInfo {
  return { id: s.id, name: s.name, title: s.title, url: s.url, type: s.type, config: s.config, owner_org: s.owner_org };
}

function parseConfig(config: string): Record<string, unknown> {
  if (!config.trim()) return {};
  try {
    const parsed = JSON.parse(config);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** The hash that decides "not modified": the record's content together with the source config. */
export async function contentHash(config: string, content: string): Promise<string> {
  const bytes = new TextEncoder().encode(`${config}\n${content}`);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function saveGatherError(sql: Queryable, jobId: string, message: string): Promise<void> {
  log.info("Gather error for job {jobId}: {message}", { jobId, message });
  await sql`INSERT INTO harvest_gather_error (id, harvest_job_id, message)
    VALUES (${crypto.randomUUID()}, ${jobId}, ${message})`;
}

export async function saveObjectError(
  sql: Queryable,
  objectId: string,
  message: string,
  stage = "Fetch",
  line?: number,
): Promise<void> {
  await sql`INSERT INTO harvest_object_error (id, harvest_object_id, message, stage, line)
    VALUES (${crypto.randomUUID()}, ${objectId}, ${message}, ${stage}, ${line ?? null})`;
}

export interface GatherOptions {
  /** Receives the ids of each batch of new objects that need fetch and import. */
  publish(objectIds: string[]): Promise<void>;
  /** Told how many records each batch held, and how many of them were already unchanged. */
  onBatch?(gathered: number, unchanged: number): void;
  signal?: AbortSignal;
  /** Process every record even when it is known unchanged (`run-test GUID`). */
  force?: boolean;
  /** Only some records are processed (`run-test GUID`): no deletion detection. */
  guidFilter?: boolean;
}

/** The object extra that marks an object as the withdrawal of a record gone from the remote. */
export const DELETED_EXTRA = "harvest_deleted";

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
): Promise<string[]> {
  const { sql } = services;
  return await sql.begin(async (tx) => {
    // A record held for deletion that the remote lists again is no longer a deletion to decide on.
    const relisted = await tx`
      DELETE FROM harvest_pending_deletion d WHERE d.source_id = ${source.id} AND d.status = 'pending'
        AND EXISTS (SELECT 1 FROM harvest_object n WHERE n.harvest_job_id = ${jobId} AND n.guid = d.guid)`;
    if (relisted.count > 0) {
      log.info("Dropped {n} held deletion(s) of source {source}: the remote lists those records again", {
        n: relisted.count,
        source: source.name,
      });
    }
    const missing = await tx<{ guid: string; package_id: string }[]>`
      SELECT c.guid, c.package_id FROM harvest_object c JOIN package p ON p.id = c.package_id
      WHERE c.harvest_source_id = ${source.id} AND c.current AND p.state = 'active'
        AND NOT EXISTS (SELECT 1 FROM harvest_object n WHERE n.harvest_job_id = ${jobId} AND n.guid = c.guid)`;
    if (missing.length === 0) return [];
    const [{ total }] = await tx<{ total: number }[]>`
      SELECT count(*)::int AS total FROM harvest_object c JOIN package p ON p.id = c.package_id
      WHERE c.harvest_source_id = ${source.id} AND c.current AND p.state = 'active'` as unknown as [{ total: number }];
    const share = (missing.length / Math.max(total, 1)) * 100;
    let reason: string | undefined;
    if (listing.gathered === 0) reason = "the remote listed no records at all";
    else if (!listing.complete) reason = "the remote's listing was truncated";
    else if (share > listing.thresholdPercent) {
      reason = `${missing.length} of ${total} datasets (${share.toFixed(1)} %) would be withdrawn, more than the ` +
        `delete_threshold of ${listing.thresholdPercent} %`;
    }
    if (reason) {
      for (const m of missing) {
        await tx`INSERT INTO harvest_pending_deletion (id, source_id, job_id, guid, package_id, reason)
          VALUES (${crypto.randomUUID()}, ${source.id}, ${jobId}, ${m.guid}, ${m.package_id}, ${reason})
          ON CONFLICT (source_id, guid) WHERE status = 'pending'
          DO UPDATE SET job_id = excluded.job_id, reason = excluded.reason, created = now()`;
      }
      log.warning("Holding {n} deletion(s) of source {source} for approval: {reason}", {
        n: missing.length,
        source: source.name,
        reason,
      });
      return [];
    }
    const rows = missing.map((m) => ({
      id: crypto.randomUUID(),
      guid: m.guid,
      harvest_job_id: jobId,
      harvest_source_id: source.id,
      package_id: m.package_id,
    }));
    await tx`INSERT INTO harvest_object ${tx(rows)}`;
    await tx`INSERT INTO harvest_object_extra ${
      tx(rows.map((r) => ({ id: crypto.randomUUID(), harvest_object_id: r.id, key: DELETED_EXTRA, value: "true" })))
    }`;
    return rows.map((r) => r.id);
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
  const [row] = await sql<(JobRow & { source: SourceRow })[]>`
    SELECT j.*, row_to_json(s.*) AS source FROM harvest_job j JOIN harvest_source s ON s.id = j.source_id
    WHERE j.id = ${jobId}`;
  if (!row) {
    log.warning("Gather skipped: job {jobId} does not exist", { jobId });
    return;
  }
  if (row.status !== "Running" || row.gather_finished) {
    log.info("Gather skipped: job {jobId} is {status}", { jobId, status: row.status });
    return;
  }
  const lease = services.config.values["ckan.harvest.mq.visibility_timeout"];
  const source = { ...row.source, created: new Date(row.source.created) } as SourceRow;
  const harvester = services.harvesters.get(source.type);
  if (!harvester) {
    await saveGatherError(sql, jobId, `System error - No harvester could be found for source type ${source.type}`);
    await sql`UPDATE harvest_job SET status = 'Finished', gather_finished = now(), finished = now()
      WHERE id = ${jobId}`;
    return;
  }
  const configHash = await contentHash(source.type, source.config);
  // Claim the job: a duplicate gather message, or a second consumer, finds it held and skips it.
  const claimed = await sql`
    UPDATE harvest_job SET gather_started = coalesce(gather_started, now()), config_hash = ${configHash},
      gather_lease_until = now() + make_interval(secs => ${lease})
    WHERE id = ${jobId} AND status = 'Running' AND gather_finished IS NULL
      AND (gather_lease_until IS NULL OR gather_lease_until < now())
    RETURNING id`;
  if (claimed.length === 0) {
    log.info("Gather skipped: job {jobId} is being gathered elsewhere", { jobId });
    return;
  }
  let listing: { complete: boolean } | undefined;
  let gathered = 0;
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
  };
  const counter = new GatherCounter(gatherLimits(services.config, ctx.config));
  try {
    for await (const page of harvester.gather(ctx)) {
      if (page.length === 0) continue;
      const { kept, oversized, full } = counter.take(page);
      const batch = [...kept, ...oversized.map((r) => ({ ...r, content: undefined, unchanged: false }))];
      gathered += batch.length;
      const { fresh: inserted, unchanged } = await insertObjects(
        services,
        row.id,
        source,
        batch,
        options.force ?? false,
      );
      const fresh = oversized.length ? await failOversized(services, row.id, inserted, oversized, counter) : inserted;
      options.onBatch?.(batch.length, unchanged);
      if (fresh.length > 0) await options.publish(fresh);
      await sql`UPDATE harvest_job SET gather_lease_until = now() + make_interval(secs => ${lease}) WHERE id = ${jobId}`;
      if (options.signal?.aborted) throw new Error("Gather interrupted by shutdown");
      if (full) throw new GatherLimitError(counter.recordsMessage());
    }
  } catch (error) {
    // Lost database or broker, or a shutdown: leave the job to be gathered again (idempotently).
    if (isConnectionError(error) || options.signal?.aborted) {
      await sql`UPDATE harvest_job SET gather_lease_until = NULL WHERE id = ${jobId}`.catch(() => {});
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
  if (listing && ctx.config.delete_missing !== false && !options.guidFilter) {
    const ids = await detectDeletions(services, jobId, source, {
      complete: listing.complete,
      gathered,
      thresholdPercent: typeof ctx.config.delete_threshold === "number" ? ctx.config.delete_threshold : 20,
    });
    if (ids.length > 0) await options.publish(ids);
  }
  await sql`UPDATE harvest_job SET gather_finished = now(), gather_lease_until = NULL WHERE id = ${jobId}`;
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
  const rows = await sql<{ id: string; guid: string }[]>`
    UPDATE harvest_object SET state = 'ERROR', report_status = 'errored', lease_until = NULL
    WHERE harvest_job_id = ${jobId} AND id = ANY(${inserted}) AND guid = ANY(${oversized.map((r) => r.guid)})
    RETURNING id, guid`;
  const byGuid = new Map(oversized.map((r) => [r.guid, r]));
  for (const r of rows) {
    await sql`INSERT INTO harvest_object_error (id, harvest_object_id, message, stage)
      VALUES (${crypto.randomUUID()}, ${r.id}, ${counter.oversizedMessage(byGuid.get(r.guid)!)}, 'Gather')`;
  }
  const failed = new Set(rows.map((r) => r.id));
  return inserted.filter((id) => !failed.has(id));
}

async function insertObjects(
  services: Services,
  jobId: string,
  source: SourceRow,
  batch: GatheredRecord[],
  force: boolean,
): Promise<{ fresh: string[]; unchanged: number }> {
  const { sql } = services;
  const seen = new Set<string>();
  const rows: {
    id: string;
    guid: string;
    content: string | null;
    content_hash: string | null;
    metadata_modified_date: Date | null;
    harvest_job_id: string;
    harvest_source_id: string;
  }[] = [];
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
  return await sql.begin(async (tx) => {
    const inserted = await tx<{ id: string }[]>`
      INSERT INTO harvest_object ${tx(rows)} ON CONFLICT (harvest_job_id, guid) DO NOTHING RETURNING id`;
    const ids = inserted.map((r) => r.id);
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
    if (extras.length > 0) await tx`INSERT INTO harvest_object_extra ${tx(extras)}`;
    if (ids.length === 0) return { fresh: [], unchanged: 0 };
    if (force) return { fresh: ids, unchanged: 0 };
    const known = batch.filter((r) => r.unchanged).map((r) => byGuid.get(r.guid)!.id);
    const unchanged = await tx<{ id: string }[]>`
      UPDATE harvest_object n SET lease_until = NULL, state = 'COMPLETE', report_status = 'not modified',
        fetch_started = now(), fetch_finished = now(), import_started = now(), import_finished = now()
      FROM harvest_object c JOIN package p ON p.id = c.package_id
      WHERE n.id = ANY(${ids}) AND c.harvest_source_id = n.harvest_source_id AND c.guid = n.guid AND c.current
        AND p.state = 'active' AND (c.content_hash = n.content_hash OR n.id = ANY(${known}))
      RETURNING n.id`;
    const done = new Set(unchanged.map((r) => r.id));
    return { fresh: ids.filter((id) => !done.has(id)), unchanged: done.size };
  });
}

interface ObjectRow extends ObjectInfo {
  state: string;
  retry_times: number;
  content_hash: string | null;
  job_status: string;
  source: SourceRow;
}

/** What happened to an object, for progress displays. */
export type ObjectOutcome = ReportStatus | "skipped";

/** The jobs the given objects belong to, for the consumer's finish check after a lot. */
export async function jobsOfObjects(sql: Queryable, objectIds: string[]): Promise<string[]> {
  if (objectIds.length === 0) return [];
  const rows = await sql<{ harvest_job_id: string }[]>`
    SELECT DISTINCT harvest_job_id FROM harvest_object WHERE id = ANY(${objectIds})`;
  return rows.map((r) => r.harvest_job_id);
}

/**
 * Runs fetch and import for one object, as the fetch consumer does (reference §3.4), with the
 * original's holes closed: every state change is guarded so a duplicate delivery does no harm, an
 * exception in a stage becomes an object error instead of a stuck object, and the dataset write and
 * the object's final state commit together.
 */
export async function processObject(
  services: Services,
  objectId: string,
  options: { forceImport?: boolean; signal?: AbortSignal } = {},
): Promise<ObjectOutcome> {
  return (await processObjects(services, [objectId], options)).get(objectId) ?? "skipped";
}

/** An object fetched and ready for import. */
interface Ready {
  obj: ObjectRow;
  base: ImportBase;
  harvester: Harvester;
  hash: string | null;
}

/**
 * Processes several objects: one statement claims them all, each is fetched, and the imports run in
 * one transaction (one commit for the lot). When any import of the lot fails, the transaction is
 * rolled back and the lot is imported again one object per transaction, so one bad record never
 * costs the others anything. Answers each object's outcome ("skipped" for one held elsewhere).
 */
export async function processObjects(
  services: Services,
  objectIds: string[],
  options: { forceImport?: boolean; signal?: AbortSignal } = {},
): Promise<Map<string, ObjectOutcome>> {
  const { sql } = services;
  const outcomes = new Map<string, ObjectOutcome>(objectIds.map((id) => [id, "skipped"]));
  const lease = services.config.values["ckan.harvest.mq.visibility_timeout"];
  // Claim the objects for the lease: a duplicate delivery while they are being processed finds them held.
  const claimed = await sql<ObjectRow[]>`
    UPDATE harvest_object o SET retry_times = o.retry_times + 1,
      lease_until = now() + make_interval(secs => ${lease}), state = 'FETCH', fetch_started = now()
    FROM harvest_job j, harvest_source s
    WHERE o.id = ANY(${objectIds}) AND j.id = o.harvest_job_id AND s.id = o.harvest_source_id
      AND o.state IN ('WAITING', 'FETCH', 'IMPORT') AND (o.lease_until IS NULL OR o.lease_until < now())
    RETURNING o.id, o.guid, o.content, o.content_hash, o.state, o.retry_times, o.harvest_job_id,
      o.harvest_source_id, o.package_id, j.status AS job_status, row_to_json(s.*) AS source,
      (SELECT coalesce(json_object_agg(e.key, e.value), '{}') FROM harvest_object_extra e
        WHERE e.harvest_object_id = o.id) AS extras`;
  const ready: Ready[] = [];
  for (const obj of claimed) {
    const prepared = await prepareObject(services, obj, options);
    if (typeof prepared === "string") outcomes.set(obj.id, prepared);
    else ready.push(prepared);
  }
  if (ready.length > 1) {
    try {
      const imported = await retryOnConflict(() =>
        sql.begin(async (tx) => {
          const links = await readLotLinks(
            tx,
            ready.map((r) => ({ sourceId: r.obj.harvest_source_id, guid: r.obj.guid })),
          );
          const out: Imported[] = [];
          for (const r of ready) {
            out.push({ id: r.obj.id, ...await importInTransaction(services, tx, r.base, r.harvester, r.hash, links) });
          }
          await finishImports(tx, out);
          return out;
        })
      );
      for (const { id, status } of imported) outcomes.set(id, status);
      await noteWrites(services, ready.length);
      return outcomes;
    } catch (error) {
      if (isConnectionError(error)) throw error;
      // Some import of the lot failed and rolled the lot back: one by one now.
    }
  }
  for (const r of ready) outcomes.set(r.obj.id, await importAlone(services, r));
  await noteWrites(services, ready.length);
  return outcomes;
}

/** What every stage context of an object holds. */
function stageBase(
  services: Services,
  obj: ObjectRow,
  options: { forceImport?: boolean; signal?: AbortSignal },
): ImportBase {
  return {
    source: sourceInfo(obj.source),
    job: { id: obj.harvest_job_id, created: new Date() },
    config: parseConfig(obj.source.config),
    http: services.http.forSource(obj.source.name),
    log: getLogger(["harvest", "harvester", obj.source.type]),
    signal: options.signal ?? new AbortController().signal,
    object: {
      id: obj.id,
      guid: obj.guid,
      content: obj.content,
      extras: obj.extras,
      harvest_job_id: obj.harvest_job_id,
      harvest_source_id: obj.harvest_source_id,
      package_id: obj.package_id,
    },
    forceImport: options.forceImport ?? false,
  };
}

/** The checks and the fetch stage of one claimed object; a string is its final outcome. */
async function prepareObject(
  services: Services,
  obj: ObjectRow,
  options: { forceImport?: boolean; signal?: AbortSignal },
): Promise<Ready | ObjectOutcome> {
  const { sql } = services;
  if (obj.retry_times > MAX_ATTEMPTS) {
    await saveObjectError(sql, obj.id, `Gave up after ${MAX_ATTEMPTS} attempts`, "Fetch");
    await sql`UPDATE harvest_object SET lease_until = NULL, state = 'ERROR', report_status = 'errored' WHERE id = ${obj.id}`;
    return "errored";
  }
  if (obj.job_status === "Finished" || obj.job_status === "Aborted") {
    await saveObjectError(sql, obj.id, `Job ${obj.harvest_job_id} was already ${obj.job_status.toLowerCase()}`);
    await sql`UPDATE harvest_object SET lease_until = NULL, state = 'ERROR', report_status = 'errored'
      WHERE id = ${obj.id} AND state IN ('WAITING', 'FETCH', 'IMPORT')`;
    return "errored";
  }
  const source = obj.source;
  const harvester = services.harvesters.get(source.type);
  if (!harvester) {
    await saveObjectError(sql, obj.id, `System error - No harvester could be found for source type ${source.type}`);
    await sql`UPDATE harvest_object SET lease_until = NULL, state = 'ERROR', report_status = 'errored' WHERE id = ${obj.id}`;
    return "errored";
  }
  const base = stageBase(services, obj, options);
  const objectInfo = base.object;

  if (obj.extras[DELETED_EXTRA] === "true") return await withdraw(services, obj);

  let newContent: string | undefined;
  const fetchCtx: FetchContext = {
    ...base,
    saveObjectError: (message, stage = "Fetch", line) => saveObjectError(sql, obj.id, message, stage, line),
    setContent: (content) => {
      newContent = content;
      objectInfo.content = content;
    },
  };
  let fetched: StageResult;
  try {
    fetched = await harvester.fetch(fetchCtx);
  } catch (error) {
    if (isConnectionError(error)) throw error;
    await saveObjectError(sql, obj.id, messageOf(error), "Fetch");
    fetched = false;
  }
  const hash = newContent !== undefined ? await contentHash(source.config, newContent) : obj.content_hash;
  const importing = fetched === true;
  // When fetch changed nothing (content stored at gather), the import's final update records the fetch.
  if (!importing || newContent !== undefined) {
    await sql`UPDATE harvest_object SET fetch_finished = now(), content = coalesce(${newContent ?? null}, content),
      content_hash = ${hash}, state = ${importing ? "IMPORT" : "FETCH"},
      import_started = ${importing ? new Date() : null} WHERE id = ${obj.id}`;
  }
  if (fetched === "unchanged") {
    await sql`UPDATE harvest_object SET lease_until = NULL, state = 'COMPLETE', report_status = 'not modified' WHERE id = ${obj.id}`;
    return "not modified";
  }
  if (fetched !== true) {
    await sql`UPDATE harvest_object SET lease_until = NULL, state = 'ERROR', report_status = 'errored' WHERE id = ${obj.id}`;
    return "errored";
  }
  return { obj, base, harvester, hash };
}

/** An object's import done: its report status and the dataset it became the current object of. */
interface Imported {
  id: string;
  status: ReportStatus;
  link: string | undefined;
}

/** The final state of imported objects, in one statement, inside the transaction of their imports. */
async function finishImports(tx: Tx, imported: Imported[]): Promise<void> {
  const rows = imported.map(({ id, status, link }) => ({ id, status, link: link ?? null }));
  await tx`UPDATE harvest_object o SET lease_until = NULL,
      state = CASE WHEN x.status = 'errored' THEN 'ERROR' ELSE 'COMPLETE' END, report_status = x.status,
      import_finished = now(), fetch_finished = coalesce(o.fetch_finished, now()),
      import_started = coalesce(o.import_started, now()), current = (x.link IS NOT NULL) OR o.current,
      package_id = coalesce(x.link, o.package_id)
    FROM jsonb_to_recordset(${tx.json(rows)}) AS x(id text, status text, link text) WHERE o.id = x.id`;
}

/** Imports one object in a transaction of its own; a failure is recorded after the rollback. */
async function importAlone(services: Services, r: Ready): Promise<ReportStatus> {
  const { sql } = services;
  try {
    return await retryOnConflict(() =>
      sql.begin(async (tx) => {
        const imported = { id: r.obj.id, ...await importInTransaction(services, tx, r.base, r.harvester, r.hash) };
        await finishImports(tx, [imported]);
        return imported.status;
      })
    );
  } catch (error) {
    // The database went away: leave the object to be delivered again.
    if (isConnectionError(error)) throw error;
    // The import failed: whatever it wrote is rolled back; its errors are recorded on their own.
    const errors = error instanceof ImportFailed
      ? error.errors
      : [[`Import failed: ${messageOf(error)}`, "Import", undefined] as const];
    await sql.begin(async (tx) => {
      for (const [message, stage, line] of errors) await saveObjectError(tx, r.obj.id, message, stage, line);
      await tx`UPDATE harvest_object SET lease_until = NULL, state = 'ERROR', report_status = 'errored',
        import_finished = now() WHERE id = ${r.obj.id}`;
    });
    return "errored";
  }
}

/** A harvester's import threw: carries the errors to record once the transaction is rolled back. */
class ImportFailed extends Error {
  constructor(readonly errors: (readonly [string, string, number | undefined])[]) {
    super(errors.map((e) => e[0]).join("; "));
  }
}

type ImportBase = Omit<ImportContext, "catalog" | "settings" | "saveObjectError">;

/** Runs a transaction again when PostgreSQL aborted it for a deadlock or a serialization conflict. */
async function retryOnConflict<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await run();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if ((code !== "40P01" && code !== "40001") || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, Math.random() * 50 * attempt));
    }
  }
}

/** Withdraws the dataset of a record that vanished from the remote; reported `deleted`. */
async function withdraw(services: Services, obj: ObjectRow): Promise<ReportStatus> {
  return await services.sql.begin(async (tx) => {
    const withdrawn = await withdrawDataset(tx, services.target, obj.harvest_source_id, obj.guid, obj.id);
    const status: ReportStatus = withdrawn ? "deleted" : "not modified";
    await tx`UPDATE harvest_object SET lease_until = NULL, state = 'COMPLETE', report_status = ${status},
      fetch_started = now(), fetch_finished = now(), import_started = now(), import_finished = now()
      WHERE id = ${obj.id}`;
    return status;
  });
}

/** Runs a harvester's import inside `tx`, saving its errors there; answers the report status. */
async function importInTransaction(
  services: Services,
  tx: Tx,
  base: ImportBase,
  harvester: Harvester,
  hash: string | null,
  links?: LotLinks,
): Promise<{ status: ReportStatus; link: string | undefined }> {
  const errors: [string, string, number | undefined][] = [];
  const importBase = {
    ...base,
    settings: {
      notOverwriteFields: services.config.values["ckan.harvest.not_overwrite_fields"],
      nameAppend: services.config.values["ckanext.harvest.default_dataset_name_append"],
    },
    saveObjectError: (message: string, stage = "Import", line?: number) => {
      errors.push([message, stage, line]);
      return Promise.resolve();
    },
  };
  // Groups are created on their own connection, except on embedded PGlite, whose one session a
  // second connection could only reach after this transaction ends.
  const groupSql = services.db.mode === "postgres" ? services.sql : tx;
  const catalog = new TxImportCatalog(tx, groupSql, services.target, importBase, hash, links);
  const ctx: ImportContext = { ...importBase, catalog };
  let result: StageResult;
  try {
    result = await harvester.import(ctx);
  } catch (error) {
    if (isConnectionError(error)) throw error;
    throw new ImportFailed([...errors, [describeImportError(error, base.object.guid), "Import", undefined]]);
  }
  for (const [message, stage, line] of errors) await saveObjectError(tx, base.object.id, message, stage, line);
  if (result === "unchanged") return { status: "not modified", link: undefined };
  if (result !== true) return { status: "errored", link: undefined };
  return { status: catalog.outcome ?? await fallbackStatus(tx, base.object.id), link: catalog.link };
}

/**
 * Re-runs only the import stage of a stored object (`harvester import`), forced even if unchanged;
 * nothing is fetched, and the object's state and report status are kept, as the original does.
 */
export async function reimportObject(services: Services, objectId: string): Promise<ReportStatus | "skipped"> {
  const { sql } = services;
  const [obj] = await sql<ObjectRow[]>`
    SELECT o.id, o.guid, o.content, o.content_hash, o.state, o.retry_times, o.harvest_job_id, o.harvest_source_id,
      o.package_id, j.status AS job_status, row_to_json(s.*) AS source,
      (SELECT coalesce(json_object_agg(e.key, e.value), '{}') FROM harvest_object_extra e
        WHERE e.harvest_object_id = o.id) AS extras
    FROM harvest_object o JOIN harvest_job j ON j.id = o.harvest_job_id JOIN harvest_source s ON s.id = o.harvest_source_id
    WHERE o.id = ${objectId}`;
  if (!obj) return "skipped";
  const harvester = services.harvesters.get(obj.source.type);
  if (!harvester) return "skipped";
  const base = stageBase(services, obj, { forceImport: true });
  try {
    return await retryOnConflict(() =>
      sql.begin(async (tx) => {
        const { status, link } = await importInTransaction(services, tx, base, harvester, obj.content_hash);
        if (link) await tx`UPDATE harvest_object SET current = true, package_id = ${link} WHERE id = ${obj.id}`;
        return status;
      })
    );
  } catch (error) {
    if (!(error instanceof ImportFailed)) throw error;
    for (const [message, stage, line] of error.errors) await saveObjectError(sql, obj.id, message, stage, line);
    return "errored";
  }
}

function describeImportError(error: unknown, guid: string): string {
  if (error instanceof ValidationError) {
    const text = error.message;
    return text.startsWith("Invalid package") || text.includes("Invalid package with GUID")
      ? text.replace(/^[^:]+: /, "")
      : `Invalid package with GUID ${guid}: ${text}`;
  }
  return messageOf(error);
}

/** The original's rule, for harvesters that write without the import catalog. */
async function fallbackStatus(tx: Queryable, objectId: string): Promise<ReportStatus> {
  const [o] = await tx<{ current: boolean; package_id: string | null; n: number }[]>`
    SELECT current, package_id, (SELECT count(*)::int FROM harvest_object x WHERE x.package_id = o.package_id) AS n
    FROM harvest_object o WHERE id = ${objectId}`;
  if (!o?.current) return "deleted";
  return o.n >= 2 ? "updated" : "added";
}
