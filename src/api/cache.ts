/**
 * The API's answer cache for read-only actions that read only the database, and for the actors API
 * tokens name.
 *
 * An answer is kept with the database's snapshot (`pg_current_snapshot()`) read before it was
 * computed, and is stored only when no transaction that changed watched data (every table but
 * heartbeats, queue messages, locks and the like: db/changes.ts) committed while it was computed, so
 * every query of the action saw the same data. A cached answer is served while that still holds: a
 * harvest's import, an API write or a change made with `psql`, in any process on any host, ends it;
 * a worker's heartbeat, a token's `last_access`, autovacuum or another database's commits do not. An
 * answer older than `ckan.harvest.api.cache_max_age` seconds is served once more while a fresh one is
 * made, for what answers derive from the clock or from heartbeats (a stalled-worker warning); answers
 * that follow from the stored data alone (datasets, searches, objects) have no age limit. Checking
 * costs one small query (`changedSince`); concurrent requests for one answer share one computation.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Queryable } from "../db/mod.ts";
import { changedSince, currentSnapshot, pruneChanges } from "../db/changes.ts";

const log = getLogger(["harvest", "api"]);

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

/** How often (ms) a serving process prunes the noted transactions (`pruneChanges`). */
const PRUNE_EVERY_MS = 60_000;

interface Entry {
  snapshot: string;
  at: number;
  value: unknown;
}

interface Flight {
  snapshot: string;
  promise: Promise<unknown>;
}

export class AnswerCache {
  readonly #entries = new Map<string, Entry>();
  readonly #computing = new Map<string, Flight>();
  #pruned = performance.now();

  constructor(
    private readonly sql: Queryable,
    /** Entries kept, least recently used dropped first; 0 turns the cache off. */
    private readonly capacity: number,
    private readonly maxAgeMs: number,
  ) {}

  get enabled(): boolean {
    return this.capacity > 0;
  }

  /**
   * A view of the cache for one request: the checks it makes are remembered for its length, so a
   * request that looks up its token's actor and then its answer asks the database once per snapshot.
   */
  request(): CacheRequest {
    const checks = new Map<string, Promise<{ changed: boolean; now: string }>>();
    let now: Promise<string> | undefined;
    const check = (snapshot: string | undefined) => {
      if (snapshot === undefined) return (now ??= currentSnapshot(this.sql)).then((s) => ({ changed: true, now: s }));
      let found = checks.get(snapshot);
      if (!found) {
        found = changedSince(this.sql, snapshot);
        checks.set(snapshot, found);
        now ??= found.then((r) => r.now);
      }
      return found;
    };
    return {
      get: (key, compute, size, timeless) => this.#get(check, key, compute, size, timeless),
    };
  }

  async #get<T>(
    check: (snapshot: string | undefined) => Promise<{ changed: boolean; now: string }>,
    key: string,
    compute: () => Promise<T>,
    size: (v: T) => number = () => 0,
    timeless = false,
  ): Promise<{ value: T; hit: boolean }> {
    this.#prune();
    const entry = this.#entries.get(key);
    const first = await check(entry?.snapshot);
    if (entry && !first.changed) {
      // Least recently used goes first: re-inserting moves the entry to the end.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      // Nothing was written, but the answer is old: it is served once more while a fresh one is made.
      if (!timeless && performance.now() - entry.at >= this.maxAgeMs && !this.#computing.has(key)) {
        this.#compute(key, first.now, compute, size).catch(() => {/* the next request computes it again */});
      }
      return { value: entry.value as T, hit: true };
    }
    // A computation under way serves this request too when nothing was written since it began.
    const flight = this.#computing.get(key);
    if (flight && (flight.snapshot === entry?.snapshot ? !first.changed : !(await check(flight.snapshot)).changed)) {
      return { value: await flight.promise as T, hit: false };
    }
    return { value: await this.#compute(key, first.now, compute, size), hit: false };
  }

  /** Computes a value under `snapshot` (taken before), keeping it when nothing was written meanwhile. */
  #compute<T>(key: string, snapshot: string, compute: () => Promise<T>, size: (v: T) => number): Promise<T> {
    const promise = (async () => {
      const at = performance.now();
      const value = await compute();
      if (size(value) <= MAX_ENTRY_CHARS && !(await changedSince(this.sql, snapshot)).changed) {
        const kept = this.#entries.get(key);
        // A newer answer kept meanwhile (by a later computation) stays.
        if (!kept || kept.at <= at) {
          this.#entries.delete(key);
          this.#entries.set(key, { snapshot, at, value });
          while (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
        }
      }
      return value;
    })();
    const flight = { snapshot, promise };
    this.#computing.set(key, flight);
    const done = () => {
      if (this.#computing.get(key) === flight) this.#computing.delete(key);
    };
    promise.then(done, done);
    return promise;
  }

  /** Now and then, the noted transactions older than their retention go (in the background). */
  #prune(): void {
    if (performance.now() - this.#pruned < PRUNE_EVERY_MS) return;
    this.#pruned = performance.now();
    pruneChanges(this.sql).catch((error) =>
      log.warning("Cannot prune noted changes: {error}", { error: String(error) })
    );
  }
}

/** One request's view of the answer cache (`AnswerCache.request`). */
export interface CacheRequest {
  /**
   * The value for `key`: from the cache when no watched data changed since it was computed (and, for
   * answers that derive from the clock, it is not too old); else computed, and kept when nothing was
   * written meanwhile. `size` measures a value to keep (too large ones are not); a `timeless` answer
   * has no age limit.
   */
  get<T>(
    key: string,
    compute: () => Promise<T>,
    size?: (v: T) => number,
    timeless?: boolean,
  ): Promise<{ value: T; hit: boolean }>;
}

/** The cache key of an action call: the action, its input with sorted keys, and who asks. */
export function answerKey(action: string, input: Record<string, unknown>, actor: { id: string | null }): string {
  const sorted = Object.keys(input).sort().map((k) => [k, input[k]]);
  return `${action}\u0000${actor.id ?? ""}\u0000${JSON.stringify(sorted)}`;
}
