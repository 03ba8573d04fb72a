/**
 * How imported objects reach their final state: those in the table are finished by one statement per
 * lot; those a source's first harvest left unsaved (`ClaimedObject.unsaved`) are written once, already
 * finished. Any other outcome of an unsaved object writes it first, as the gather otherwise would.
 *
 * @module
 */
import type { Services } from "../services_type.ts";
import type { Tx } from "../db/mod.ts";
import {
  type ClaimedObject,
  finishImports,
  type Imported,
  insertFinished,
  insertGathered,
  saveObjectError,
} from "./objects.ts";

/** Errors an import recorded for its object: message, stage and line. */
export type ObjectErrors = [string, string, number | undefined][];

/** An import done: the object, its final state, and (for an unsaved object) the errors to record once it is written. */
export interface Done {
  obj: ClaimedObject;
  imported: Imported;
  errors?: ObjectErrors;
}

/**
 * The lease of some objects was handed to another process while this one was cut off from the
 * database for longer than `dead_after`: their imports are rolled back and left to the new holder,
 * so a healed partition never imports a record twice.
 */
export class LeaseLost extends Error {
  constructor(readonly ids: string[]) {
    super(`${ids.length} object(s) now held by another process`);
  }
}

/** Unsaved objects whose record their job already has (a remote that listed it twice): not written. */
export class Repeated extends Error {
  constructor(readonly ids: string[]) {
    super(`${ids.length} record(s) listed twice`);
  }
}

/**
 * The final states of a lot's imports, in their transaction: objects in the table are finished, unsaved
 * ones written once as finished, then the errors their imports recorded. A lease lost or a record the
 * job already has rolls the lot back.
 */
export async function writeFinalStates(tx: Tx, done: Done[]): Promise<void> {
  const saved = done.filter((d) => !d.obj.unsaved).map((d) => d.imported);
  const finished = saved.length ? await finishImports(tx, saved) : new Set<string>();
  if (finished.size < saved.length) throw new LeaseLost(saved.map((o) => o.id).filter((id) => !finished.has(id)));
  const unsaved = done.filter((d) => d.obj.unsaved);
  if (unsaved.length === 0) return;
  const written = await insertFinished(tx, unsaved);
  if (written.size < unsaved.length) throw new Repeated(unsaved.map((d) => d.obj.id).filter((id) => !written.has(id)));
  for (const d of unsaved) {
    for (const [message, stage, line] of d.errors ?? []) await saveObjectError(tx, d.obj.id, message, stage, line);
  }
}

/**
 * Writes an unsaved object as the gather otherwise would (claimed by this process), before anything
 * else is recorded of it; false when its job already has the record (the object is dropped).
 */
export async function writeUnsaved(services: Services, obj: ClaimedObject, tx?: Tx): Promise<boolean> {
  if (!obj.unsaved) return true;
  const row = {
    id: obj.id,
    guid: obj.guid,
    content: obj.content,
    content_hash: obj.content_hash,
    metadata_modified_date: obj.unsaved.metadata_modified_date,
    harvest_job_id: obj.harvest_job_id,
    harvest_source_id: obj.harvest_source_id,
  };
  const lease = services.config.values["ckan.harvest.mq.visibility_timeout"];
  const written = tx
    ? await insertGathered(tx, [row], lease)
    : await services.sql.begin((t) => insertGathered(t, [row], lease));
  obj.unsaved = undefined;
  return written.length > 0;
}
