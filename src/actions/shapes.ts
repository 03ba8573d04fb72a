/**
 * What each action returns, as zod schemas: the OpenAPI document, the typed `call` and the matrix
 * test (every result is checked against its schema) all read these.
 *
 * @module
 */
import { z } from "zod";
import { REPORT_STATUSES } from "../harvest/dicts.ts";
import { JOB_STATUSES } from "../harvest/states.ts";

const time = z.string().nullable().describe("YYYY-MM-DD HH:MM:SS.ffffff, UTC");
const count = z.number().int();
const stats = z.object({ added: count, updated: count, "not modified": count, deleted: count, errored: count })
  .describe(
    `objects by report status: ${REPORT_STATUSES.join(", ")}`,
  );
const summary = z.array(z.object({ message: z.string(), error_count: z.number().int() }));

const job = z.object({
  id: z.string(),
  source_id: z.string(),
  status: z.enum(JOB_STATUSES),
  created: time,
  gather_started: time,
  gather_finished: time,
  finished: time,
  stats,
  object_error_summary: summary.optional(),
  gather_error_summary: summary.optional(),
  objects_total: z.number().int().optional().describe("objects gathered so far (with the summaries)"),
  objects_done: z.number().int().optional().describe("objects fetched and imported, or failed"),
  documents_not_modified: z.number().int().optional().describe(
    "documents the remote answered 304 for (conditional requests): not read, not parsed",
  ),
}).meta({ id: "Job" });

const runSummary = z.object({
  jobId: z.string(),
  stats,
  gatherErrors: z.array(z.string()),
  objectErrors: z.number().int().describe("object error rows, warnings included"),
  seconds: z.number(),
  status: z.enum(JOB_STATUSES),
});

const change = z.object({ field: z.string(), before: z.unknown().optional(), after: z.unknown().optional() });
const planAction = z.enum(["add", "update", "leave", "withdraw", "error"]);
const plan = z.object({
  id: z.string(),
  source_id: z.string(),
  source_name: z.string(),
  created: z.string().describe("ISO 8601"),
  expires: z.string().describe("ISO 8601: applies are refused after this"),
  creator_user_id: z.string().nullable(),
  applied_job_id: z.string().nullable(),
  applied: z.string().nullable(),
  counts: z.record(planAction, count),
  held_deletions: z.object({ count, reason: z.string() }).optional().describe(
    "withdrawals the deletion guard would hold for an operator",
  ),
  gather_errors: z.array(z.string()),
  complete_listing: z.boolean().describe("false: the listing was not complete, so nothing would be withdrawn"),
  seconds: z.number(),
  items: z.array(z.object({
    guid: z.string(),
    action: planAction,
    dataset: z.object({ id: z.string(), name: z.string(), title: z.string() }).optional(),
    title: z.string().optional(),
    name: z.string().optional().describe("the name a dataset to add would get"),
    changes: z.array(change).optional(),
    errors: z.array(z.string()).optional(),
    hash: z.string().optional(),
  })).describe("every record to add, update, withdraw or fail; those left alone are only counted"),
}).meta({ id: "Plan" });

const sourceStatus = z.object({
  job_count: z.number().int(),
  last_job: job.nullable(),
  total_datasets: z.number().int(),
  workers_warning: z.string().optional().describe("Set when jobs wait and no worker is alive"),
}).meta({ id: "SourceStatus" });

const source = z.looseObject({
  id: z.string(),
  name: z.string(),
  title: z.string(),
  notes: z.string(),
  url: z.string(),
  type: z.literal("harvest"),
  source_type: z.string(),
  frequency: z.string(),
  owner_org: z.string().nullable(),
  organization: z.looseObject({ id: z.string(), name: z.string(), title: z.string() }).nullable(),
  private: z.boolean(),
  state: z.enum(["active", "deleted"]),
  active: z.boolean(),
  status: sourceStatus,
  next_run: time.optional().describe("when the scheduler starts the source next; null: at its next tick"),
  config: z.string().optional().describe(
    "Only for those who may edit the source; its keys are also lifted " +
      "to the top level",
  ),
}).meta({ id: "Source" });

const objectDict = z.object({
  id: z.string(),
  guid: z.string(),
  current: z.boolean(),
  state: z.enum(["WAITING", "FETCH", "IMPORT", "COMPLETE", "ERROR"]),
  report_status: z.string().nullable(),
  harvest_job_id: z.string(),
  harvest_source_id: z.string(),
  package_id: z.string().nullable(),
  content: z.string().nullable(),
  gathered: time,
  fetch_started: time,
  fetch_finished: time,
  import_started: time,
  import_finished: time,
  changes: z.array(z.object({ field: z.string(), before: z.unknown().optional(), after: z.unknown().optional() }))
    .describe("what this object's update changed in its dataset"),
  errors: z.array(z.object({ message: z.string(), stage: z.string(), line: z.number().nullable() })),
  extras: z.record(z.string(), z.string()),
}).meta({ id: "HarvestObject" });

const resource = z.looseObject({ id: z.string(), url: z.string(), name: z.string(), format: z.string() });
const pkg = z.looseObject({
  id: z.string(),
  name: z.string(),
  title: z.string(),
  notes: z.string().nullable(),
  owner_org: z.string().nullable(),
  private: z.boolean(),
  state: z.string(),
  metadata_created: z.string(),
  metadata_modified: z.string(),
  tags: z.array(z.looseObject({ name: z.string() })),
  groups: z.array(z.looseObject({ name: z.string() })),
  extras: z.array(z.object({ key: z.string(), value: z.string() })),
  resources: z.array(resource),
  harvest_object_id: z.string().optional(),
  harvest_source_id: z.string().optional(),
  harvest_source_title: z.string().optional(),
}).meta({ id: "Dataset" });

const group = z.looseObject({
  id: z.string(),
  name: z.string(),
  title: z.string(),
  display_name: z.string(),
  type: z.enum(["organization", "group"]),
  package_count: z.number().int(),
}).meta({ id: "Group" });

const user = z.object({
  id: z.string(),
  name: z.string(),
  email: z.string().nullable().optional(),
  sysadmin: z.boolean(),
  state: z.string(),
  created: z.string().optional(),
  organizations: z.array(z.object({ name: z.string(), capacity: z.string() })).optional().describe(
    "user_show and user_list: the organizations and the role in each",
  ),
}).meta({ id: "User" });

const names = z.array(z.string());
const idResult = z.object({ id: z.string() });

/** What each action returns. */
export const OUTPUTS = {
  harvest_source_create: source,
  harvest_source_show: source,
  harvest_source_list: z.array(source),
  harvest_source_update: source,
  harvest_source_patch: source,
  harvest_source_delete: idResult,
  harvest_source_show_status: sourceStatus,
  harvest_status_show: z.object({
    running_jobs: z.array(job),
    queue_depth: z.object({ gather: z.number().int(), fetch: z.number().int() }),
    consumers: z.array(z.object({ id: z.string(), kind: z.string(), last_seen_seconds: z.number() })),
    recent_failures: z.array(job),
    workers_warning: z.string().optional().describe("Set when jobs wait and no worker is alive"),
  }),
  harvest_source_clear: z.object({ id: z.string(), datasets: z.number().int() }),
  harvest_source_job_history_clear: z.object({ id: z.string(), jobs: z.number().int() }),
  harvest_sources_job_history_clear: z.array(z.object({ id: z.string(), jobs: z.number().int() })),
  harvest_source_reindex: z.literal(true),
  harvest_sources_reindex: z.literal(true),
  harvest_source_pending_deletions: z.array(z.looseObject({
    guid: z.string(),
    package_id: z.string(),
    name: z.string(),
    title: z.string(),
    reason: z.string(),
    job_id: z.string().nullable(),
  })),
  harvest_source_deletions_approve: z.looseObject({
    approved: z.number().int(),
    withdrawn: z.number().int(),
    still_listed: z.number().int(),
  }),
  harvest_source_deletions_reject: z.looseObject({ rejected: z.number().int() }),
  harvesters_info_show: z.array(z.looseObject({
    name: z.string(),
    title: z.string(),
    description: z.string(),
    form_config_interface: z.string().optional(),
    show_config: z.boolean(),
  })),
  harvest_job_create: job,
  harvest_send_job_to_gather_queue: job,
  harvest_job_show: job,
  harvest_job_list: z.array(job),
  harvest_job_abort: job,
  harvest_job_create_all: z.array(job),
  harvest_jobs_run: z.object({
    started: names.describe("ids of the jobs started"),
    finished: names.describe("ids of the jobs finished"),
    timed_out: names.describe("ids of the jobs timed out"),
    requeued_jobs: z.number().int(),
    requeued_objects: z.number().int(),
  }),
  harvest_abort_failed_jobs: z.string(),
  harvest_objects_import: z.number().int().describe("objects re-imported"),
  harvest_source_run_test: runSummary,
  harvest_source_datasets: z.object({
    count,
    page: count,
    rows: count,
    results: z.array(z.object({
      id: z.string(),
      name: z.string(),
      title: z.string(),
      metadata_modified: z.string().nullable(),
      harvest_object_id: z.string().nullable(),
      guid: z.string().nullable(),
      original_url: z.string().optional(),
    })),
  }),
  harvest_source_plan: plan,
  harvest_plan_show: plan,
  harvest_plan_list: z.array(plan.omit({ items: true })),
  harvest_plan_apply: z.object({ plan_id: z.string(), job: runSummary }),
  harvest_dataset_history: z.array(z.object({
    object_id: z.string(),
    job_id: z.string(),
    harvested: time,
    status: z.string(),
    changes: z.array(z.object({ field: z.string(), before: z.unknown().optional(), after: z.unknown().optional() })),
  })),
  harvest_job_report: z.object({
    changes: z.record(z.string(), z.number().int()).describe("updated datasets per changed field: {title: 3, ...}"),
    documents_not_modified: z.number().int().describe("documents skipped by a 304 answer"),
    gather_errors: z.array(z.object({ message: z.string(), created: time })),
    object_errors: z.record(
      z.string(),
      z.object({
        guid: z.string(),
        original_url: z.string().optional(),
        errors: z.array(z.object({ message: z.string(), line: z.number().nullable(), type: z.string() })),
      }),
    ),
  }),
  harvest_object_create: objectDict,
  harvest_object_show: objectDict,
  harvest_object_list: names.describe("object ids"),
  harvest_queues_purge: z.object({ gather: z.number().int(), fetch: z.number().int() }),
  harvest_history_trim: z.object({
    sources: z.number().int(),
    jobs: z.number().int().describe("finished jobs removed"),
    objects: z.number().int().describe("superseded objects removed"),
    log_rows: z.number().int(),
    keep_jobs: z.number().int(),
    keep_days: z.number().int(),
  }),
  harvest_log_clean: z.object({ deleted: z.number().int(), days: z.number().int() }),
  harvest_log_list: z.array(z.object({ content: z.string(), level: z.string(), created: time })),
  harvest_get_notifications_recipients: z.array(z.object({ name: z.string(), email: z.string() })),
  package_show: pkg,
  package_list: names,
  package_search: z.object({
    count: z.number().int(),
    results: z.array(pkg),
    sort: z.string(),
    facets: z.record(z.string(), z.record(z.string(), z.number())),
    search_facets: z.record(z.string(), z.unknown()),
  }),
  package_create: pkg,
  package_update: pkg,
  package_patch: pkg,
  package_delete: z.null(),
  organization_list: z.union([names, z.array(group)]),
  organization_show: group,
  group_list: z.union([names, z.array(group)]),
  group_show: group,
  tag_list: names,
  harvest_source_search: z.object({
    count: z.number().int().describe("sources matching, on every page"),
    results: z.array(source).describe("the page's sources"),
    facets: z.record(z.string(), z.array(z.tuple([z.string(), z.number().int()]))),
  }),
  harvest_source_detect: z.object({
    url: z.string(),
    source_type: z.string().nullable().describe("null when not recognised"),
    config: z.record(z.string(), z.unknown()),
    reason: z.string(),
    probes: z.array(z.object({ probe: z.string(), saw: z.string() })),
    registered: z.boolean().describe("whether this service has that harvester"),
  }),
  status_show: z.looseObject({ site_title: z.string(), site_url: z.string(), ckan_version: z.string() }),
  help_show: z.string(),
  user_create: user,
  user_show: user,
  user_list: z.array(user),
  api_token_create: z.object({
    id: z.string(),
    name: z.string(),
    user: z.string(),
    token: z.string().describe("shown only here"),
    expires_at: z.string().nullable(),
  }),
  api_token_list: z.array(z.object({
    id: z.string(),
    name: z.string(),
    created: z.string(),
    expires_at: z.string().nullable(),
    last_access: z.string().nullable(),
    revoked: z.boolean(),
  })),
  api_token_revoke: z.object({ id: z.string(), revoked: z.literal(true) }),
  organization_create: group,
  group_create: group,
  organization_member_create: z.object({ organization: z.string(), username: z.string(), role: z.string() }),
  organization_member_delete: z.object({ organization: z.string(), username: z.string() }),
} as const satisfies Record<string, z.ZodType>;

export type ActionOutputs = typeof OUTPUTS;
export type SourceDict = z.output<typeof source>;
export type JobDict = z.output<typeof job>;
