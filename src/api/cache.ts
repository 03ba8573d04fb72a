/**
 * The API's answer cache for read-only actions that read only the database, and for the actors API
 * tokens name.
 *
 * An answer is kept with the database's snapshot (`pg_current_snapshot()`, a list of transaction ids)
 * read before it was computed, and is stored only when the snapshot read after is the same: no write
 * committed meanwhile, so every query of the action saw the same state. A cached answer is served
 * while the snapshot is still that one, which no longer holds as soon as any transaction commits
 * (a harvest's import, an API write, a worker's heartbeat, in any process on any host). An answer
 * older than `ckan.harvest.api.cache_max_age` seconds is served once more while a fresh one is made,
 * for what answers derive from the clock (a stalled-worker warning); answers that follow from the stored
 * data alone (datasets, searches, objects) have no age limit. Checking costs one trivial query;
 * concurrent requests for one answer share one computation.
 *
 * @module
 */
import type { Queryable } from "../db/mod.ts";

/**
 * The actions whose answers are cached: read-only, and reading nothing but the database (not the
 * broker, not a remote, not the configuration alone).
 */
export const CACHED_ACTIONS: ReadonlySet<string> = new Set([
  "package_show",
  "package_list",
  "package_search",
  "tag_list",
  "harvest_source_show",
  "harvest_source_list",
  "harvest_source_search",
  "harvest_source_datasets",
  "harvest_source_show_status",
  "harvest_job_show",
  "harvest_job_list",
  "harvest_job_report",
  "harvest_object_show",
  "harvest_object_list",
  "harvest_dataset_history",
]);

/**
 * The cached actions whose answers follow from the stored data alone, never from the clock: they are
 * served until something commits, however old. (`package_search` with Solr date math on `NOW` in its
 * query does depend on the clock, and keeps the age limit.)
 */
const TIMELESS_ACTIONS: ReadonlySet<string> = new Set([
  "package_show",
  "package_list",
  "package_search",
  "tag_list",
  "harvest_object_show",
  "harvest_object_list",
  "harvest_dataset_history",
]);

/** Whether an action call's answer stays right for as long as nothing is written. */
export function isTimeless(action: string, input: Record<string, unknown>): boolean {
  if (!TIMELESS_ACTIONS.has(action)) return false;
  return action !== "package_search" || !/NOW/.test(`${input.q ?? ""} ${input.fq ?? ""}`);
}

/** Answers larger than this are not kept: they would push many small ones out. */
const MAX_ENTRY_CHARS = 1_000_000;

interface Entry {
  snapshot: string;
  at: number;
  value: unknown;
}

export class AnswerCache {
  readonly #entries = new Map<string, Entry>();
  readonly #computing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly sql: Queryable,
    /** Entries kept, least recently used dropped first; 0 turns the cache off. */
    private readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {}

  get enabled(): boolean {
    return this.capacity > 0;
  }

  /** The database's snapshot now: it changes whenever any transaction commits. */
  async snapshot(): Promise<string> {
    const [row] = await this.sql<{ s: string }[]>`SELECT pg_current_snapshot()::text AS s`;
    return row!.s;
  }

  /**
   * The value for `key`, from the cache when it was computed under `snapshot` (read before this
   * request did anything) not long ago; else computed, and kept when nothing committed meanwhile.
   * `size` measures a value to keep (too large ones are not).
   */
  async get<T>(
    key: string,
    snapshot: string,
    compute: () => Promise<T>,
    size: (v: T) => number = () => 0,
    /** The answer does not depend on the clock: no age limit. */
    timeless = false,
  ): Promise<{ value: T; hit: boolean }> {
    const entry = this.#entries.get(key);
    if (entry && entry.snapshot === snapshot) {
      // Least recently used goes first: re-inserting moves the entry to the end.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      // Nothing was written, but the answer is old: it is served once more while a fresh one is made.
      if (!timeless && performance.now() - entry.at >= this.maxAgeMs) {
        this.#compute(key, snapshot, compute, size).catch(() => {/* the next request computes it again */});
      }
      return { value: entry.value as T, hit: true };
    }
    return { value: await this.#compute(key, snapshot, compute, size), hit: false };
  }

  /** Computes a value once however many requests want it under one snapshot, keeping it if it may be. */
  async #compute<T>(key: string, snapshot: string, compute: () => Promise<T>, size: (v: T) => number): Promise<T> {
    const flight = `${snapshot}\u0000${key}`;
    const running = this.#computing.get(flight);
    if (running) return await running as T;
    const promise = (async () => {
      const at = performance.now();
      const value = await compute();
      if (size(value) <= MAX_ENTRY_CHARS && await this.snapshot() === snapshot) {
        this.#entries.delete(key);
        this.#entries.set(key, { snapshot, at, value });
        while (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
      }
      return value;
    })();
    this.#computing.set(flight, promise);
    try {
      return await promise;
    } finally {
      this.#computing.delete(flight);
    }
  }
}

/** The cache key of an action call: the action, its input with sorted keys, and who asks. */
export function answerKey(action: string, input: Record<string, unknown>, actor: { id: string | null }): string {
  const sorted = Object.keys(input).sort().map((k) => [k, input[k]]);
  return `${action}\u0000${actor.id ?? ""}\u0000${JSON.stringify(sorted)}`;
}
