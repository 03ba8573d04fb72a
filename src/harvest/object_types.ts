/**
 * The shapes of `harvest_object` rows as the stages read them (objects.ts owns the table).
 *
 * @module
 */
import type { ObjectInfo } from "./interface.ts";
import type { SourceRow } from "./sources.ts";

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
}

/** The object extra that marks an object as the withdrawal of a record gone from the remote. */
export const DELETED_EXTRA = "harvest_deleted";
