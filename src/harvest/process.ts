/**
 * The fetch and import stages of harvest objects: claimed a lot at a time, fetched, imported in one
 * transaction per lot (one by one when any import of the lot fails).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import type { Tx } from "../db/mod.ts";
import { isConnectionError } from "../db/mod.ts";
import { messageOf, ValidationError } from "../errors/mod.ts";
import type { FetchContext, Harvester, ImportContext, StageResult } from "./interface.ts";
import type { ReportStatus } from "./dicts.ts";
import { type LotLinks, LotWrites, readLotLinks, TxImportCatalog, withdrawDataset } from "./import_catalog.ts";
import {
  type ClaimedObject,
  claimObjects,
  completeNotModified,
  completeWithdrawal,
  DELETED_EXTRA,
  failObject,
  fallbackStatus,
  type Imported,
  makeCurrent,
  readForImport,
  recordFetch,
  saveObjectError,
} from "./objects.ts";
import { contentHash, parseConfig, sourceInfo } from "./stage.ts";
import { LeaseLost, type ObjectErrors, Repeated, writeFinalStates, writeUnsaved } from "./final_states.ts";
import { analyzeHarvestTables } from "../db/maintenance.ts";

const log = getLogger(["harvest", "pipeline"]);

/** Deliveries of one object before it is given up as ERROR. */
export const MAX_ATTEMPTS = 5;

/**
 * A harvest fills tables fast, often from empty. Prepared statements' generic plans made while they
 * were small (sequential scans) then slow every import down as they grow (335 instead of 568
 * datasets/s at 15,000 in the benchmark). Fresh statistics invalidate those plans, so this process
 * refreshes them after 1,000 imports, then 32,000 more, and 256,000 more after that. Once the tables
 * are past empty, the planner scales its estimates with their actual size, so the plans made then
 * stay; autovacuum keeps the statistics fresh beyond that.
 */
async function noteWrites(services: Services, n: number): Promise<void> {
  const schedule = services.work.analyze;
  schedule.writes += n;
  if (schedule.writes < schedule.every) return;
  schedule.writes = 0;
  // ANALYZE reads a sample of every table each time: 4.5 % of a cold harvest of 20,000 when refreshed
  // as the tables doubled, 3 % when they grew fivefold.
  schedule.every = Math.min(schedule.every * 32, 256_000);
  await analyzeHarvestTables(services.sql)
    .catch((error) => log.debug("ANALYZE failed: {error}", { error: String(error) }));
}

/** What happened to an object, for progress displays. */
export type ObjectOutcome = ReportStatus | "skipped";

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

export interface StageOptions {
  forceImport?: boolean;
  signal?: AbortSignal;
  /** Fetches and imports with this harvester instead of the source type's (`harvester apply`). */
  harvester?: Harvester;
  /** Objects of the lot this process already holds, as claimed (gathered claimed, `run-test`). */
  claimed?: ClaimedObject[];
}

/** An object fetched and ready for import. */
interface Ready {
  obj: ClaimedObject;
  base: ImportBase;
  harvester: Harvester;
  hash: string | null;
}

/**
 * Processes several objects: one statement claims them all, each is fetched, and the imports run in
 * one transaction (one commit for the lot; see `importLot` for a lot with a bad record). Answers
 * each object's outcome ("skipped" for one held elsewhere).
 */
export async function processObjects(
  services: Services,
  objectIds: string[],
  options: StageOptions = {},
): Promise<Map<string, ObjectOutcome>> {
  const { sql } = services;
  const outcomes = new Map<string, ObjectOutcome>(objectIds.map((id) => [id, "skipped"]));
  const lease = services.config.values["ckan.harvest.mq.visibility_timeout"];
  // Claim the objects for the lease: a duplicate delivery while they are being processed finds them held.
  // In the order asked for (the queue's), whatever order the claim's RETURNING gives: a lot that
  // fails is halved along this order.
  const order = new Map(objectIds.map((id, i) => [id, i]));
  const held = (options.claimed ?? []).filter((o) => order.has(o.id));
  const heldIds = new Set(held.map((o) => o.id));
  const others = objectIds.filter((id) => !heldIds.has(id));
  const claimed = [...held, ...(others.length ? await claimObjects(sql, others, lease) : [])]
    .sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  // The lot's fetches run side by side (the HTTP client's per-host limit bounds what a remote sees);
  // the imports then follow in the lot's order.
  const ready: Ready[] = [];
  const prepared = await Promise.all(claimed.map((obj) => prepareObject(services, obj, options)));
  for (const [i, p] of prepared.entries()) {
    if (typeof p === "string") outcomes.set(claimed[i]!.id, p);
    else ready.push(p);
  }
  await importLot(services, ready, outcomes);
  await noteWrites(services, ready.length);
  return outcomes;
}

/**
 * Imports fetched objects in one transaction. When an import of the lot fails, the transaction is
 * rolled back and each half is imported as a lot of its own, down to one object per transaction:
 * one bad record costs its lot about twice its logarithm in transactions, not one per object.
 */
async function importLot(services: Services, ready: Ready[], outcomes: Map<string, ObjectOutcome>): Promise<void> {
  if (ready.length === 0) return;
  if (ready.length === 1) {
    outcomes.set(ready[0]!.obj.id, await importAlone(services, ready[0]!));
    return;
  }
  try {
    const imported = await retryOnConflict(() =>
      services.sql.begin(async (tx) => {
        const links = await readLotLinks(
          tx,
          ready.map((r) => ({ sourceId: r.obj.harvest_source_id, guid: r.obj.guid })),
        );
        const lot = new LotWrites(tx);
        const results: [Ready, ImportResult][] = [];
        for (const r of ready) {
          const unsaved = r.obj.unsaved !== undefined;
          results.push([r, await importInTransaction(services, tx, r.base, r.harvester, r.hash, links, lot, unsaved)]);
        }
        // The lot's creates, in one statement; only then is every dataset's id known.
        await lot.flush();
        const out = results.map(([r, result]) => importedOf(r.obj.id, result));
        await writeFinalStates(
          tx,
          results.map(([r, result], i) => ({ obj: r.obj, imported: out[i]!, errors: result.errors })),
        );
        return out;
      })
    );
    for (const { id, status } of imported) outcomes.set(id, status);
    services.metrics.importLots.inc({ written: "together" });
  } catch (error) {
    if (isConnectionError(error)) throw error;
    if (error instanceof LeaseLost || error instanceof Repeated) {
      // Rolled back: the rest of the lot is imported again without the objects another process now holds,
      // or whose record the job already has.
      if (error instanceof LeaseLost) handedOn(error.ids);
      return await importLot(services, ready.filter((r) => !error.ids.includes(r.obj.id)), outcomes);
    }
    // Some import of the lot failed and rolled the lot back: each half on its own now.
    log.debug("A lot of {n} imports is split in two: {error}", { n: ready.length, error: messageOf(error) });
    services.metrics.importLots.inc({ written: "split" });
    const half = Math.ceil(ready.length / 2);
    await importLot(services, ready.slice(0, half), outcomes);
    await importLot(services, ready.slice(half), outcomes);
  }
}

/** What every stage context of an object holds. */
function stageBase(
  services: Services,
  obj: ClaimedObject,
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
  obj: ClaimedObject,
  options: StageOptions,
): Promise<Ready | ObjectOutcome> {
  const { sql } = services;
  if (obj.retry_times > MAX_ATTEMPTS) {
    await saveObjectError(sql, obj.id, `Gave up after ${MAX_ATTEMPTS} attempts`, "Fetch");
    await failObject(sql, obj.id);
    return "errored";
  }
  if (obj.job_status === "Finished" || obj.job_status === "Aborted") {
    await saveObjectError(sql, obj.id, `Job ${obj.harvest_job_id} was already ${obj.job_status.toLowerCase()}`);
    await failObject(sql, obj.id);
    return "errored";
  }
  const source = obj.source;
  const harvester = options.harvester ?? services.harvesters.get(source.type);
  if (!harvester) {
    if (!await writeUnsaved(services, obj)) return "skipped";
    await saveObjectError(sql, obj.id, `System error - No harvester could be found for source type ${source.type}`);
    await failObject(sql, obj.id);
    return "errored";
  }
  const base = stageBase(services, obj, options);
  const objectInfo = base.object;

  if (obj.extras[DELETED_EXTRA] === "true") return await withdraw(services, obj);

  let newContent: string | undefined;
  const fetchCtx: FetchContext = {
    ...base,
    saveObjectError: async (message, stage = "Fetch", line) => {
      if (await writeUnsaved(services, obj)) await saveObjectError(sql, obj.id, message, stage, line);
    },
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
    if (await writeUnsaved(services, obj)) await saveObjectError(sql, obj.id, messageOf(error), "Fetch");
    fetched = false;
  }
  const hash = newContent !== undefined ? await contentHash(source.config, newContent) : obj.content_hash;
  const importing = fetched === true;
  // When fetch changed nothing (content stored at gather), the import's final update records the fetch;
  // anything else is recorded on the object's row, written first if it was not yet.
  if (!importing || newContent !== undefined) {
    if (!await writeUnsaved(services, obj)) return "skipped";
    await recordFetch(sql, obj.id, { content: newContent, hash, importing });
  }
  if (fetched === "unchanged") {
    await completeNotModified(sql, obj.id);
    return "not modified";
  }
  if (fetched !== true) {
    await failObject(sql, obj.id);
    return "errored";
  }
  return { obj, base, harvester, hash };
}

/** Imports one object in a transaction of its own; a failure is recorded after the rollback. */
async function importAlone(services: Services, r: Ready): Promise<ObjectOutcome> {
  const { sql } = services;
  try {
    return await retryOnConflict(() =>
      sql.begin(async (tx) => {
        const unsaved = r.obj.unsaved !== undefined;
        const result = await importInTransaction(
          services,
          tx,
          r.base,
          r.harvester,
          r.hash,
          undefined,
          undefined,
          unsaved,
        );
        await writeFinalStates(tx, [{ obj: r.obj, imported: importedOf(r.obj.id, result), errors: result.errors }]);
        return importedOf(r.obj.id, result).status;
      })
    );
  } catch (error) {
    // The database went away: leave the object to be delivered again.
    if (isConnectionError(error)) throw error;
    if (error instanceof LeaseLost || error instanceof Repeated) {
      if (error instanceof LeaseLost) handedOn(error.ids);
      return "skipped";
    }
    // The import failed: whatever it wrote is rolled back; its errors are recorded on their own.
    const errors = error instanceof ImportFailed
      ? error.errors
      : [[`Import failed: ${messageOf(error)}`, "Import", undefined] as const];
    return await sql.begin(async (tx) => {
      if (!await writeUnsaved(services, r.obj, tx)) return "skipped";
      for (const [message, stage, line] of errors) await saveObjectError(tx, r.obj.id, message, stage, line);
      await failObject(tx, r.obj.id, { importFinished: true });
      return "errored";
    });
  }
}

function handedOn(ids: string[]): void {
  log.warning("Left {n} object(s) to the process that holds them now (this one was cut off): {ids}", {
    n: ids.length,
    ids: ids.slice(0, 5).join(", "),
  });
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
async function withdraw(services: Services, obj: ClaimedObject): Promise<ReportStatus> {
  return await services.sql.begin(async (tx) => {
    const withdrawn = await withdrawDataset(tx, services.target, obj.harvest_source_id, obj.guid, obj.id);
    const status: ReportStatus = withdrawn ? "deleted" : "not modified";
    await completeWithdrawal(tx, obj.id, status);
    return status;
  });
}

/** What an import did: its report status, and for a dataset written, the catalog that wrote it. */
interface ImportResult {
  status: ReportStatus;
  catalog?: TxImportCatalog;
  mapping?: string;
  /** The import's errors, for an unsaved object: recorded once it is written. */
  errors?: ObjectErrors;
}

/** An import's final state for `finishImports`: read once the lot's creates are written. */
function importedOf(id: string, { status, catalog, mapping }: ImportResult): Imported {
  return { id, status, link: catalog?.link, changes: catalog?.changes, mapping };
}

/** Runs a harvester's import inside `tx`, saving its errors there; answers the report status. */
async function importInTransaction(
  services: Services,
  tx: Tx,
  base: ImportBase,
  harvester: Harvester,
  hash: string | null,
  links?: LotLinks,
  lot?: LotWrites,
  /** The object is not in the table yet: its errors come back with the result. */
  unsaved = false,
): Promise<ImportResult> {
  const errors: ObjectErrors = [];
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
  const catalog = new TxImportCatalog(tx, groupSql, services.target, importBase, hash, links, lot);
  const ctx: ImportContext = { ...importBase, catalog };
  let result: StageResult;
  try {
    result = await harvester.import(ctx);
  } catch (error) {
    if (isConnectionError(error)) throw error;
    throw new ImportFailed([...errors, [describeImportError(error, base.object.guid), "Import", undefined]]);
  }
  if (!unsaved) {
    for (const [message, stage, line] of errors) await saveObjectError(tx, base.object.id, message, stage, line);
  }
  const later = unsaved && errors.length ? { errors } : {};
  if (result === "unchanged") return { status: "not modified", ...later };
  if (result !== true) return { status: "errored", ...later };
  return {
    status: catalog.outcome ?? await fallbackStatus(tx, base.object.id),
    catalog,
    mapping: harvester.mappingVersion?.(base.source.config),
    ...later,
  };
}

/**
 * Re-runs only the import stage of a stored object (`harvester import`), forced even if unchanged;
 * nothing is fetched, and the object's state and report status are kept, as the original does.
 */
export async function reimportObject(services: Services, objectId: string): Promise<ReportStatus | "skipped"> {
  const { sql } = services;
  const obj = await readForImport(sql, objectId);
  if (!obj) return "skipped";
  const harvester = services.harvesters.get(obj.source.type);
  if (!harvester) return "skipped";
  const base = stageBase(services, obj, { forceImport: true });
  try {
    return await retryOnConflict(() =>
      sql.begin(async (tx) => {
        const { status, catalog, mapping } = await importInTransaction(services, tx, base, harvester, obj.content_hash);
        if (catalog?.link) await makeCurrent(tx, obj.id, catalog.link, mapping);
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
