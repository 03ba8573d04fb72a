/**
 * The OpenAPI 3.1 document of the action API, generated from the actions' zod input schemas and the
 * result shapes below, and a browsable page of it that needs no JavaScript or CDN.
 *
 * @module
 */
import { z } from "zod";
import { html } from "hono/html";
import type { Action } from "../actions/mod.ts";
import { REPORT_STATUSES } from "../harvest/dicts.ts";

const time = z.string().nullable().describe("YYYY-MM-DD HH:MM:SS.ffffff, UTC");
const stats = z.object(Object.fromEntries(REPORT_STATUSES.map((s) => [s, z.number().int()])));
const summary = z.array(z.object({ message: z.string(), error_count: z.number().int() }));

const job = z.object({
  id: z.string(),
  source_id: z.string(),
  status: z.enum(["New", "Running", "Finished", "Aborted"]),
  created: time,
  gather_started: time,
  gather_finished: time,
  finished: time,
  stats,
  object_error_summary: summary.optional(),
  gather_error_summary: summary.optional(),
  objects_total: z.number().int().optional().describe("objects gathered so far (with the summaries)"),
  objects_done: z.number().int().optional().describe("objects fetched and imported, or failed"),
}).meta({ id: "Job" });

const sourceStatus = z.object({
  job_count: z.number().int(),
  last_job: job.nullable(),
  total_datasets: z.number().int(),
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
}).meta({ id: "User" });

const names = z.array(z.string());
const idResult = z.object({ id: z.string() });

/** What each action returns. */
export const RESULTS: Record<string, z.ZodType> = {
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
  harvest_job_report: z.object({
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
};

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any", reused: "inline" }) as Record<
    string,
    unknown
  >;
  return rest;
}

function envelope(result: Record<string, unknown>): Record<string, unknown> {
  return {
    type: "object",
    required: ["help", "success", "result"],
    properties: { help: { type: "string" }, success: { const: true }, result },
  };
}

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

/** The OpenAPI 3.1 document for the given actions. */
export function openApiDocument(actions: Iterable<Action>, siteUrl: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const action of actions) {
    const input = jsonSchema(action.input, "input");
    const result = RESULTS[action.name];
    const operation = (method: "get" | "post") => ({
      operationId: method === "get" ? `${action.name}_get` : action.name,
      summary: action.doc.split(". ")[0],
      description: `${action.doc}\n\n**Who may call it:** ${action.auth}.`,
      tags: [action.name.startsWith("harvest") ? "harvest" : "catalog"],
      "x-auth": action.auth,
      ...(method === "get"
        ? {
          parameters: Object.entries((input.properties ?? {}) as Record<string, unknown>).map(([name, schema]) => ({
            name,
            in: "query",
            required: ((input.required ?? []) as string[]).includes(name),
            schema,
          })),
        }
        : { requestBody: { required: false, content: { "application/json": { schema: input } } } }),
      responses: {
        200: {
          description: "Success, in CKAN's envelope",
          content: { "application/json": { schema: envelope(result ? jsonSchema(result, "output") : {}) } },
        },
        400: errorResponse("Unknown action, malformed body, or a data-changing action over GET"),
        403: errorResponse("Authorization Error"),
        404: errorResponse("Not Found Error"),
        409: errorResponse("Validation Error: each bad field is a key with a list of messages"),
        413: errorResponse("Body larger than 2 MiB"),
      },
      security: [{}, { apiToken: [] }],
    });
    paths[`/api/3/action/${action.name}`] = action.sideEffectFree
      ? { get: operation("get"), post: operation("post") }
      : { post: operation("post") };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "ckan-harvest-ts action API",
      version: "3",
      description: "CKAN's action API with the harvest actions. Every answer is CKAN's envelope " +
        "`{help, success, result | error}`.",
    },
    servers: [{ url: siteUrl }],
    paths,
    components: {
      securitySchemes: {
        apiToken: { type: "apiKey", in: "header", name: "Authorization", description: "An API token, as in CKAN" },
      },
      schemas: {
        Error: {
          type: "object",
          properties: {
            help: { type: "string" },
            success: { const: false },
            error: {
              type: "object",
              required: ["__type"],
              properties: { __type: { type: "string" }, message: { type: "string" } },
              additionalProperties: { type: "array", items: { type: "string" } },
            },
          },
        },
      },
    },
  };
}

/** A browsable page of the document: every action with its rule, inputs and result. */
export async function docsPage(doc: Record<string, unknown>): Promise<string> {
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  const entries = Object.entries(paths).map(([path, ops]) => {
    const op = ops.post ?? ops.get!;
    const name = path.split("/").pop()!;
    const body = (op.requestBody as { content: Record<string, { schema: Record<string, unknown> }> } | undefined)
      ?.content["application/json"]?.schema ??
      {
        properties: Object.fromEntries(
          ((op.parameters ?? []) as { name: string; schema: unknown }[]).map((p) => [p.name, p.schema]),
        ),
      };
    const props = Object.entries((body.properties ?? {}) as Record<string, Record<string, unknown>>);
    const result =
      (op.responses as Record<string, { content: Record<string, { schema: { properties: { result: unknown } } }> }>)[
        "200"
      ]!.content["application/json"]!.schema.properties.result;
    return html`<section id="${name}">
  <h2><code>${name}</code> <small>${ops.get ? "GET or POST" : "POST"}</small></h2>
  <p>${op.description as string}</p>
  ${
      props.length
        ? html`
          <table>
            <thead>
              <tr>
                <th scope="col">Input</th>
                <th scope="col">Schema</th>
              </tr>
            </thead>
            <tbody>${props.map(([p, s]) =>
              html`
                <tr>
                  <td><code>${p}</code></td>
                  <td><code>${JSON.stringify(s)}</code>${s.description ? html`<br>${s.description as string}` : ""}</td>
                </tr>
              `
            )}</tbody>
          </table>
        `
        : html`<p>No input.</p>`
    }
  <details><summary>Result schema</summary><pre>${JSON.stringify(result, null, 2)}</pre></details>
</section>`;
  });
  return String(
    await html`
      <!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>Action API reference</title>
          <style>
      body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1a1a1a;line-height:1.45}
      code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f4f4;padding:.5rem;overflow:auto}
      table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
      td code{word-break:break-all}section{border-top:1px solid #ddd;margin-top:1.5rem}nav{columns:16rem}
      small{color:#555;font-weight:normal}
      </style>
        </head>
        <body>
      <h1>Action API reference</h1>
      <p>Call <code>/api/3/action/&lt;name&gt;</code> with a JSON body (POST) or a query string (GET for read-only
      actions); send an API token in the <code>Authorization</code> header. The machine-readable document is
      <a href="/api/3/openapi.json">/api/3/openapi.json</a> (OpenAPI 3.1).</p>
      <nav aria-label="Actions"><ul>${Object.keys(paths).map((p) => {
        const n = p.split("/").pop()!;
        return html`<li><a href="#${n}">${n}</a></li>`;
      })}</ul></nav>
      ${entries}
        </body>
      </html>
    `,
  );
}
