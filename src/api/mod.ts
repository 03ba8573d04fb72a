/**
 * The HTTP API: CKAN's action API (`/api/3/action/<name>`, GET for read-only actions, POST for all)
 * in CKAN's envelope, and health checks. `createApp(services)` builds the app without a socket, so
 * tests hand it requests directly.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import { ACTIONS, type Actor, ANONYMOUS, runAction } from "../actions/mod.ts";
import { AuthorizationError, NotFoundError, UnavailableError, ValidationError } from "../errors/mod.ts";
import { jsonDepth, MAX_JSON_DEPTH } from "../errors/json_depth.ts";
import { actorForToken } from "../auth/tokens.ts";
import { docsPage, openApiDocument } from "./openapi.ts";
import { healthReport, metricsText } from "../metrics/mod.ts";
import { webRoutes } from "../web/mod.tsx";
import { AnswerCache, answerKey, CACHED_ACTIONS, type CacheRequest, isTimeless } from "./cache.ts";

const log = getLogger(["harvest", "api"]);

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

class BadRequest extends Error {}

function helpUrl(services: Services, name: string): string {
  return `${services.config.values["ckan.site_url"]}/api/3/action/help_show?name=${encodeURIComponent(name)}`;
}

/** Maps an error to CKAN's error envelope and status. */
function errorBody(error: unknown): { status: ContentfulStatusCode; error: Record<string, unknown> } {
  if (error instanceof ValidationError) {
    return { status: 409, error: { __type: "Validation Error", ...error.fields } };
  }
  if (error instanceof AuthorizationError) {
    return { status: 403, error: { __type: "Authorization Error", message: `Access denied: ${error.message}` } };
  }
  if (error instanceof NotFoundError) {
    return { status: 404, error: { __type: "Not Found Error", message: `Not found: ${error.message}` } };
  }
  if (error instanceof BadRequest) {
    return { status: 400, error: { __type: "Bad Request", message: error.message } };
  }
  if (error instanceof UnavailableError) {
    return { status: 503, error: { __type: "Service Unavailable", message: error.message } };
  }
  return { status: 500, error: { __type: "Internal Server Error", message: "Internal server error" } };
}

async function readInput(req: Request, url: URL): Promise<Record<string, unknown>> {
  const query = Object.fromEntries(url.searchParams);
  if (req.method !== "POST") return query;
  const type = req.headers.get("content-type") ?? "";
  const text = await req.text();
  if (!text.trim()) return query;
  if (type.includes("application/x-www-form-urlencoded")) {
    return { ...query, ...Object.fromEntries(new URLSearchParams(text)) };
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new BadRequest(`Bad request - JSON Error: the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest("Bad request - JSON Error: the request body is not valid JSON");
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new BadRequest("Bad request - JSON Error: the request body must be a JSON object");
  }
  return { ...query, ...body as Record<string, unknown> };
}

/**
 * What the API's middleware hands its routes: the caller, and the request's view of the answer cache
 * (undefined with the cache off).
 */
type ApiVariables = { actor: Actor; cached: CacheRequest | undefined };

/** Builds the HTTP app over the given services. */
export function createApp(services: Services): Hono<{ Variables: ApiVariables }> {
  const app = new Hono<{ Variables: ApiVariables }>();
  const cache = new AnswerCache(
    services.sql,
    services.config.values["ckan.harvest.api.cache_entries"],
    services.config.values["ckan.harvest.api.cache_max_age"] * 1000,
  );

  app.use("/api/*", async (c, next) => {
    const header = c.req.header("Authorization") ?? c.req.header("X-CKAN-API-Key");
    // One query tells whether anything was written since cached answers (and actors) were computed;
    // requests that use neither a token nor a cached action do not make it.
    const cached = cache.enabled ? cache.request() : undefined;
    c.set("cached", cached);
    let actor = ANONYMOUS;
    if (header) {
      const found = cached === undefined
        ? await actorForToken(services.sql, header)
        : (await cached.get(`token\u0000${header}`, () => actorForToken(services.sql, header))).value;
      if (!found) {
        return c.json({
          help: helpUrl(services, ""),
          success: false,
          error: { __type: "Authorization Error", message: "Access denied: the API token is not valid" },
        }, 403);
      }
      actor = found;
    }
    c.set("actor", actor);
    await next();
  });

  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        c.json({
          success: false,
          error: { __type: "Bad Request", message: `Bad request - the body is larger than ${MAX_BODY_BYTES} bytes` },
        }, 413),
    }),
  );

  app.on(["GET", "POST"], ["/api/3/action/:name", "/api/action/:name"], async (c) => {
    const name = c.req.param("name");
    const help = helpUrl(services, name);
    try {
      const action = ACTIONS.get(name);
      if (!action) throw new BadRequest(`Bad request - Action name not known: ${name}`);
      if (c.req.method !== "POST" && !action.sideEffectFree) {
        throw new BadRequest(`Bad request - ${name} changes data: please use POST`);
      }
      const input = await readInput(c.req.raw, new URL(c.req.url));
      const actor = c.get("actor");
      const cached = c.get("cached");
      if (cached !== undefined && CACHED_ACTIONS.has(name)) {
        const { value: result, hit } = await cached.get(
          answerKey(name, input, actor),
          async () => JSON.stringify(await runAction(action, { services, actor }, input)) ?? "null",
          (body) => body.length,
          isTimeless(name, input),
        );
        return c.body(`{"help":${JSON.stringify(help)},"success":true,"result":${result}}`, 200, {
          "Content-Type": "application/json",
          "X-Harvest-Cache": hit ? "hit" : "miss",
        });
      }
      const result = await runAction(action, { services, actor }, input);
      return c.json({ help, success: true, result });
    } catch (error) {
      const { status, error: body } = errorBody(error);
      if (status === 500) log.error("Action {name} failed: {error}", { name, error });
      return c.json({ help, success: false, error: body }, status);
    }
  });

  const doc = openApiDocument(ACTIONS.values(), services.config.values["ckan.site_url"]);
  app.get("/api/3/openapi.json", (c) => c.json(doc));
  let page: Promise<string> | undefined;
  app.get("/api/docs", async (c) => c.html(await (page ??= docsPage(doc))));

  app.get("/healthz", async (c) => {
    const report = await healthReport(services, false);
    return c.json(report, report.status === "ok" ? 200 : 503);
  });
  app.get("/readyz", async (c) => {
    const report = await healthReport(services, true);
    return c.json(report, report.status === "ok" ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    try {
      const { body, contentType } = await metricsText(services);
      return c.body(body, 200, { "Content-Type": contentType });
    } catch (error) {
      log.error("Metrics failed: {error}", { error: String(error) });
      return c.text("# metrics unavailable: the database or the broker does not answer\n", 503);
    }
  });

  app.get("/", (c) => c.redirect("/harvest"));
  app.route("/", webRoutes(services) as unknown as Hono<{ Variables: ApiVariables }>);

  app.notFound((c) => c.json({ success: false, error: { __type: "Not Found Error", message: "Not found" } }, 404));
  app.onError((error, c) => {
    log.error("Request failed: {error}", { error });
    return c.json({ success: false, error: errorBody(error).error }, errorBody(error).status);
  });
  return app;
}
