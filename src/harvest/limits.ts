/**
 * Limits that hold against a hostile (or broken) remote, for every harvester: the framework counts
 * what a gather yields, so no plugin can forget them. Per job: at most `max_pages` batches (pages) and
 * `max_records` records, and no page that repeats an earlier one (any earlier one, not only the last:
 * a remote that alternates A, B, A, B never ends otherwise); per record, at most `max_record_mb` of
 * content. Defaults come from `ckan.harvest.max_*` and are far above what a real catalog needs; a
 * source's JSON config may set its own.
 */
import type { Config } from "../config/mod.ts";
import type { GatheredRecord } from "./interface.ts";

export interface GatherLimits {
  maxPages: number;
  maxRecords: number;
  maxRecordBytes: number;
}

/** The limits of one source's gather: its config's `max_pages`, `max_records`, `max_record_mb`, else the site's. */
export function gatherLimits(config: Config, sourceConfig: Record<string, unknown>): GatherLimits {
  const v = config.values;
  const own = (key: string, fallback: number) => {
    const n = sourceConfig[key];
    return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : fallback;
  };
  return {
    maxPages: own("max_pages", v["ckan.harvest.max_pages_per_job"]),
    maxRecords: own("max_records", v["ckan.harvest.max_records_per_job"]),
    maxRecordBytes: Math.round(own("max_record_mb", v["ckan.harvest.max_record_mb"]) * 1024 * 1024),
  };
}

/** A limit a gather reached; the message says which and how to raise it. */
export class GatherLimitError extends Error {
  override name = "GatherLimitError";
}

/**
 * 52 bits of hash over a page's guids (two 32-bit multiply-xor lanes, FNV-1a's and MurmurHash's
 * multipliers): enough to tell pages apart, small enough to keep one per page.
 */
function pageKey(batch: GatheredRecord[]): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  const mix = (c: number) => {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  };
  for (const r of batch) {
    mix(r.unchanged ? 0x75 : 0x63);
    for (let i = 0; i < r.guid.length; i++) mix(r.guid.charCodeAt(i));
    mix(0);
  }
  return (a >>> 0) + (b >>> 12) * 0x1_0000_0000;
}

/** Counts one job's gather against its limits. */
export class GatherCounter {
  #pages = 0;
  #records = 0;
  #seen = new Map<number, number>();

  constructor(readonly limits: GatherLimits) {}

  /**
   * Counts a batch: throws a `GatherLimitError` when it is one page too many or repeats an earlier
   * page; answers the records that fit under `max_records` (the rest of the batch is dropped, and the
   * next batch throws) and those too large to keep.
   */
  take(batch: GatheredRecord[]): { kept: GatheredRecord[]; oversized: GatheredRecord[]; full: boolean } {
    this.#pages++;
    if (this.#pages > this.limits.maxPages) {
      throw new GatherLimitError(
        `Stopped after ${this.limits.maxPages} pages, the limit per job: set "max_pages" in the source config ` +
          `(or ckan.harvest.max_pages_per_job) to raise it`,
      );
    }
    const key = pageKey(batch);
    const earlier = this.#seen.get(key);
    if (earlier !== undefined) {
      throw new GatherLimitError(
        `The remote is looping: page ${this.#pages} repeats page ${earlier} (${batch.length} records, same ids); ` +
          `stopped. Records that vanished are not withdrawn after an incomplete listing`,
      );
    }
    this.#seen.set(key, this.#pages);
    const room = this.limits.maxRecords - this.#records;
    const fitting = batch.length > room ? batch.slice(0, Math.max(0, room)) : batch;
    this.#records += fitting.length;
    const kept: GatheredRecord[] = [];
    const oversized: GatheredRecord[] = [];
    for (const r of fitting) {
      if (r.content !== undefined && r.content.length > this.limits.maxRecordBytes) oversized.push(r);
      else kept.push(r);
    }
    return { kept, oversized, full: batch.length > room };
  }

  /** The message for the batch that went over `max_records`. */
  recordsMessage(): string {
    return `Stopped after ${this.limits.maxRecords} records, the limit per job: set "max_records" in the source ` +
      `config (or ckan.harvest.max_records_per_job) to raise it`;
  }

  /** The object error of a record over `max_record_mb`. */
  oversizedMessage(record: GatheredRecord): string {
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    return `Record ${record.guid} is ${mb(record.content!.length)} MB, over the limit of ` +
      `${mb(this.limits.maxRecordBytes)} MB per record: not stored. Set "max_record_mb" in the source config ` +
      `(or ckan.harvest.max_record_mb) to raise it`;
  }
}
