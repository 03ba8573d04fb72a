/**
 * The job and object state machines (src/harvest/states.ts) walked against a real PostgreSQL: every
 * verb that changes a state is called on a row in every state, and must move it exactly when the
 * declared transition allows it (to the declared state), and leave it alone otherwise.
 */
import { assert, assertEquals } from "./assert.ts";
import { testServices } from "./helpers.ts";
import type { Queryable } from "../src/db/mod.ts";
import {
  allows,
  JOB_STATUSES,
  JOB_TRANSITIONS,
  type JobStatus,
  type JobTransition,
  OBJECT_STATES,
  OBJECT_TRANSITIONS,
  type ObjectState,
  type ObjectTransition,
} from "../src/harvest/states.ts";
import { PROCESS_ID } from "../src/db/consumers.ts";
import {
  claimObjects,
  completeNotModified,
  completeWithdrawal,
  failByGuid,
  failObject,
  failUnfinished,
  finishImports,
  recordFetch,
} from "../src/harvest/objects.ts";
import { cancelNewJobs, finishJobIfComplete, markAborted, markFinished, markQueued } from "../src/harvest/jobs.ts";

interface Row {
  sourceId: string;
  jobId: string;
  objectId: string;
  guid: string;
}

let n = 0;
async function fixture(sql: Queryable, job: JobStatus, object: ObjectState): Promise<Row> {
  const r = {
    sourceId: crypto.randomUUID(),
    jobId: crypto.randomUUID(),
    objectId: crypto.randomUUID(),
    guid: `g${++n}`,
  };
  await sql`INSERT INTO harvest_source (id, name, title, url, url_normalized, type, config)
    VALUES (${r.sourceId}, ${"s" + n}, 'S', ${"http://127.0.0.1:9/" + n}, ${"127.0.0.1:9/" + n}, 'ckan', '')`;
  await sql`INSERT INTO harvest_job (id, source_id, status, gather_finished)
    VALUES (${r.jobId}, ${r.sourceId}, ${job}, now())`;
  // Leased by this process, as every object a stage of this process works on is (the finishing verbs
  // are fenced to the lease's holder).
  await sql`INSERT INTO harvest_object (id, guid, state, harvest_job_id, harvest_source_id, leased_by)
    VALUES (${r.objectId}, ${r.guid}, ${object}, ${r.jobId}, ${r.sourceId}, ${PROCESS_ID})`;
  return r;
}

/** Each object verb, and the transition it must follow. */
const OBJECT_VERBS: [string, ObjectTransition, (sql: Queryable & { begin?: unknown }, r: Row) => Promise<unknown>][] = [
  ["claimObjects", "claim", (sql, r) => claimObjects(sql, [r.objectId], 60)],
  [
    "recordFetch (importing)",
    "fetched",
    (sql, r) => recordFetch(sql, r.objectId, { content: "{}", hash: "h", importing: true }),
  ],
  ["completeNotModified", "unchanged", (sql, r) => completeNotModified(sql, r.objectId)],
  ["completeWithdrawal", "complete", (sql, r) => completeWithdrawal(sql, r.objectId, "deleted")],
  [
    "finishImports (added)",
    "complete",
    (sql, r) =>
      (sql as unknown as { begin(f: (tx: never) => Promise<void>): Promise<void> }).begin((tx) =>
        finishImports(tx, [{ id: r.objectId, status: "added", link: undefined }]).then(() => {})
      ),
  ],
  ["failObject", "fail", (sql, r) => failObject(sql, r.objectId)],
  ["failUnfinished", "fail", (sql, r) => failUnfinished(sql, r.jobId)],
  ["failByGuid", "fail", (sql, r) => failByGuid(sql, r.jobId, [r.objectId], [r.guid])],
];

Deno.test("every object verb moves an object exactly as its declared transition allows, from every state", async () => {
  await using services = await testServices();
  const { sql } = services;
  const failures: string[] = [];
  let walked = 0;
  for (const [verb, name, run] of OBJECT_VERBS) {
    const t = OBJECT_TRANSITIONS[name];
    for (const state of OBJECT_STATES) {
      const r = await fixture(sql, "Running", state);
      await run(sql, r);
      const [row] = await sql<{ state: string; report_status: string | null }[]>`
        SELECT state, report_status FROM harvest_object WHERE id = ${r.objectId}`;
      const expected = allows(t, state) ? t.to : state;
      walked++;
      if (row!.state !== expected) failures.push(`${verb} from ${state}: ${row!.state}, expected ${expected}`);
      // Entering ERROR always says errored, wherever it happens.
      if (allows(t, state) && t.to === "ERROR" && row!.report_status !== "errored") {
        failures.push(`${verb} from ${state}: report_status ${row!.report_status}, expected errored`);
      }
    }
  }
  assertEquals(failures, []);
  assertEquals(walked, OBJECT_VERBS.length * OBJECT_STATES.length);
  // Every declared transition has a verb that follows it.
  for (const name of Object.keys(OBJECT_TRANSITIONS)) {
    assert(OBJECT_VERBS.some(([, t]) => t === name), `no verb follows the ${name} transition`);
  }
});

const JOB_VERBS: [string, JobTransition, (sql: Queryable, r: Row) => Promise<unknown>][] = [
  ["markQueued", "queue", (sql, r) => markQueued(sql, r.jobId)],
  ["markFinished", "finish", (sql, r) => markFinished(sql, r.jobId)],
  ["finishJobIfComplete", "finish", (sql, r) => finishJobIfComplete(sql, r.jobId)],
  ["markAborted", "abort", (sql, r) => markAborted(sql, r.jobId)],
  ["cancelNewJobs", "cancel", (sql, r) => cancelNewJobs(sql, r.sourceId)],
];

Deno.test("every job verb moves a job exactly as its declared transition allows, from every status", async () => {
  await using services = await testServices();
  const { sql } = services;
  const failures: string[] = [];
  for (const [verb, name, run] of JOB_VERBS) {
    const t = JOB_TRANSITIONS[name];
    for (const status of JOB_STATUSES) {
      // The object is finished, so a complete job may finish; New jobs are one per source, hence fresh sources.
      const r = await fixture(sql, status, "COMPLETE");
      await run(sql, r);
      const [row] = await sql<{ status: string }[]>`SELECT status FROM harvest_job WHERE id = ${r.jobId}`;
      const expected = allows(t, status) ? t.to : status;
      if (row!.status !== expected) failures.push(`${verb} from ${status}: ${row!.status}, expected ${expected}`);
    }
  }
  assertEquals(failures, []);
  for (const name of Object.keys(JOB_TRANSITIONS)) {
    assert(JOB_VERBS.some(([, t]) => t === name), `no verb follows the ${name} transition`);
  }
});

Deno.test("a finished job's unfinished object cannot be finished by the import: the guard comes from the data", () => {
  // The walk above would pass for a verb that ignored the guard only if the data allowed every state;
  // this pins that the declared sets are not trivially everything.
  for (const t of Object.values(OBJECT_TRANSITIONS)) assert(t.from.length < OBJECT_STATES.length, t.doc);
  assert(!allows(OBJECT_TRANSITIONS.complete, "ERROR") && !allows(OBJECT_TRANSITIONS.fail, "COMPLETE"));
  assert(!allows(JOB_TRANSITIONS.queue, "Finished") && !allows(JOB_TRANSITIONS.cancel, "Running"));
});
