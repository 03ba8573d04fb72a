/**
 * The web UI under `/harvest` (and `/user/login`): server-rendered pages that call the actions as
 * the logged-in user, so they show and allow exactly what the API does. Every state change is a
 * POST carrying the session's form token, and a POST from another origin is refused. One module per
 * page under `pages/`; their scripts are static files under `static/`; domain errors become pages in
 * one place (`problem` in kit.tsx, the app's `onError`).
 *
 * @module
 */
import { Hono } from "hono";
import type { Services } from "../services_type.ts";
import { readSession, sameToken } from "./session.ts";
import { type Env, makeKit, one } from "./kit.tsx";
import { loginPages } from "./pages/login.tsx";
import { sourceListPage } from "./pages/source_list.tsx";
import { sourceFormPages } from "./pages/source_form.tsx";
import { adminPage } from "./pages/admin.tsx";
import { objectPage } from "./pages/object.tsx";
import { sourcePages } from "./pages/source.tsx";
import { jobPages } from "./pages/jobs.tsx";
import { deletionPages } from "./pages/deletions.tsx";
import { previewPages } from "./pages/preview.tsx";

/** The page scripts, read once: small, and served with the pages' own origin (no inline script). */
const STATIC: Record<string, string> = {
  "source_form.js": Deno.readTextFileSync(new URL("./static/source_form.js", import.meta.url)),
  "job_progress.js": Deno.readTextFileSync(new URL("./static/job_progress.js", import.meta.url)),
  "times.js": Deno.readTextFileSync(new URL("./static/times.js", import.meta.url)),
};

/** The web UI's routes, mounted at the root of the app. */
export function webRoutes(services: Services): Hono<Env> {
  const app = new Hono<Env>();
  const k = makeKit(services);
  const { page, sameOrigin } = k;

  app.get("/harvest/static/:file", (c) => {
    const body = STATIC[c.req.param("file")];
    if (body === undefined) return c.text("Not found", 404);
    return c.body(body, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "max-age=3600" });
  });

  // Session on every page; form token and origin on every POST.
  app.use("*", async (c, next) => {
    c.set("session", await readSession(services, c));
    if (c.req.method === "POST") {
      // A form from another site, or from an opaque origin (`Origin: null`: sandboxed frames, data: URLs,
      // some redirects), is refused; browsers that send no Origin are left to the form token.
      const origin = c.req.header("origin");
      if (origin !== undefined && !sameOrigin(origin, c.req.url)) {
        return page(
          c,
          "Refused",
          <>
            <h1>Refused</h1>
            <p>The form was not sent from this site.</p>
          </>,
          403,
        );
      }
      const form = await c.req.parseBody({ all: true }) as Record<string, string | string[]>;
      if (!sameToken(one(form._csrf), c.get("session").csrf)) {
        return page(
          c,
          "Refused",
          <>
            <h1>Refused</h1>
            <p>The form has expired or was not sent from this site. Go back, reload and try again.</p>
          </>,
          403,
        );
      }
      c.set("form", form);
    }
    await next();
  });

  // Registration order matters: fixed paths (/harvest/new, /harvest/admin) before /harvest/:name.
  loginPages(app, k);
  sourceListPage(app, k);
  sourceFormPages(app, k);
  adminPage(app, k);
  objectPage(app, k);
  sourcePages(app, k);
  jobPages(app, k);
  deletionPages(app, k);
  previewPages(app, k);

  app.onError((error, c) => k.problem(c, error));
  return app;
}
