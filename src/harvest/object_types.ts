/**
 * The shapes of `harvest_object` rows as the stages read them (objects.ts owns the table).
 *
 * @module
 */
import type { ObjectInfo } from "./interface.ts";
import type { SourceRow } from "./sources.ts";
import type { ReportStatus } from "./dicts.ts";

/** A `harvest_object` row. */
export interface ObjectRecord {
  id: string;
  guid: string;
  current: boolean;
  gathered: Date;
  fetch_started: Date | null;
  fetch_finished: Date | null;
  import_started: Date | null;
  import_finished: Date | null;
  content: string | null;
  state: string;
  metadata_modified_date: Date | null;
  retry_times: number;
  harvest_job_id: string;
  harvest_source_id: string;
  package_id: string | null;
  report_status: string | null;
}

/** An object claimed for fetch and import: the row with its extras, its job's status and its source. */
export interface ClaimedObject extends ObjectInfo {
  state: string;
  retry_times: number;
  content_hash: string | null;
  job_status: string;
  source: SourceRow;
  /**
   * Set while the object is not in the table yet: gathered for a source's first harvest by the process
   * that imports it (`GatherOptions.defer`), it is written once, in its final state, by its import's
   * transaction; any other outcome writes it first (`process.ts`). Holds what the row needs besides.
   */
  unsaved?: { metadata_modified_date: Date | null };
}

/** A gathered record's row, as `insertGathered` writes it. */
export interface GatheredRow {
  id: string;
  guid: string;
  content: string | null;
  content_hash: string | null;
  metadata_modified_date: Date | null;
  harvest_job_id: string;
  harvest_source_id: string;
}

/** An object's import done: its report status and the dataset it became the current object of. */
export interface Imported {
  id: string;
  status: ReportStatus;
  link: string | undefined;
  /** What an update changed in the dataset, field by field. */
  changes?: unknown[];
  /** The mapping the import applied (`Harvester.mappingVersion`). */
  mapping?: string;
}

/** The object extra that marks an object as the withdrawal of a record gone from the remote. */
export const DELETED_EXTRA = "harvest_deleted";
