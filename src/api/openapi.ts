/**
 * The OpenAPI 3.1 document of the action API, generated from the actions' zod input schemas and the
 * result shapes below, and a browsable page of it that needs no JavaScript or CDN.
 *
 * @module
 */
import { z } from "zod";
import { html } from "hono/html";
import type { Action } from "../actions/mod.ts";
import { OUTPUTS } from "../actions/shapes.ts";

/** What each action returns (kept under its old name for the tests that read it). */
export const RESULTS: Record<string, z.ZodType> = OUTPUTS;

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
