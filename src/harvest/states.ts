/**
 * The job and object state machines, written once, as data. Every statement that changes a job's
 * status or an object's state takes its guard (`WHERE state = ANY(from)`) and its target from here,
 * through the verbs of `jobs.ts` and `objects.ts`; `tests/state_machine_test.ts` walks every
 * transition from every state against the database, allowed and refused.
 *
 * @module
 */

export const JOB_STATUSES = ["New", "Running", "Finished", "Aborted"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const OBJECT_STATES = ["WAITING", "FETCH", "IMPORT", "COMPLETE", "ERROR"] as const;
export type ObjectState = (typeof OBJECT_STATES)[number];

export interface Transition<S extends string> {
  /** The states this transition leaves; from any other, the statement changes nothing. */
  from: readonly S[];
  to: S;
  /** When it happens, in words. */
  doc: string;
}

/** A job's life: New until queued, Running through gather, fetch and import, then Finished. */
export const JOB_TRANSITIONS = {
  queue: {
    from: ["New", "Running"],
    to: "Running",
    doc: "sent to the gather queue (again, when its message was lost)",
  },
  finish: {
    from: ["Running"],
    to: "Finished",
    doc: "gather over and every object COMPLETE or ERROR; or gather impossible; or timed out",
  },
  abort: {
    from: ["New", "Running"],
    to: "Finished",
    doc: "stopped by harvest_job_abort (the original's abort: Finished, with a finish time)",
  },
  cancel: {
    from: ["New"],
    to: "Aborted",
    doc: "its source was made inactive before the job started",
  },
} as const satisfies Record<string, Transition<JobStatus>>;

/** The states in which an object still has work ahead (a consumer may claim it). */
export const UNFINISHED: readonly ObjectState[] = ["WAITING", "FETCH", "IMPORT"];

/** An object's life: WAITING after gather, FETCH while claimed, IMPORT once fetched, then COMPLETE or ERROR. */
export const OBJECT_TRANSITIONS = {
  claim: {
    from: UNFINISHED,
    to: "FETCH",
    doc: "leased by a consumer (again when an earlier lease lapsed)",
  },
  fetched: {
    from: ["FETCH", "IMPORT"],
    to: "IMPORT",
    doc: "the fetch stage stored its content; the import is next",
  },
  unchanged: {
    from: UNFINISHED,
    to: "COMPLETE",
    doc: "known unchanged at gather, or by the fetch or import stage: reported not modified",
  },
  complete: {
    from: ["FETCH", "IMPORT"],
    to: "COMPLETE",
    doc: "imported (added, updated, deleted or not modified)",
  },
  fail: {
    from: UNFINISHED,
    to: "ERROR",
    doc: "a stage failed, the job was stopped, or the attempts ran out: reported errored",
  },
} as const satisfies Record<string, Transition<ObjectState>>;

export type JobTransition = keyof typeof JOB_TRANSITIONS;
export type ObjectTransition = keyof typeof OBJECT_TRANSITIONS;

/** True when `name` may move a thing in state `from`. */
export function allows<S extends string>(t: Transition<S>, from: S): boolean {
  return t.from.includes(from);
}
