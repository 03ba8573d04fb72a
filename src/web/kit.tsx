/**
 * What every page of the web UI shares: the typed call into the actions as the signed-in user, the
 * page frame, the one mapping of domain errors to pages, and safe redirects.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { Services } from "../services_type.ts";
import { type ActionName, type ActionOutput, call } from "../actions/mod.ts";
import { AuthorizationError, messageOf, NotFoundError, ValidationError } from "../errors/mod.ts";
import { getLogger } from "@logtape/logtape";

const log = getLogger(["harvest", "web"]);
import type { WebSession } from "./session.ts";
import { Layout } from "./layout.tsx";

export type Dict = Record<string, unknown>;
export type Env = { Variables: { session: WebSession; form: Record<string, string | string[]> } };

export type { JobDict, SourceDict } from "../actions/shapes.ts";

export const PAGE = 20;

/** What each source button does, in the words its confirmation uses. */
export const OPERATIONS: Record<string, { label: string; action: ActionName; explain: string; danger?: boolean }> = {
  reharvest: {
    label: "Reharvest",
    action: "harvest_job_create",
    explain: "starts a new job now: the remote catalog is read again and changes are applied to its datasets.",
  },
  stop: {
    label: "Stop",
    action: "harvest_job_abort",
    explain: "stops the running job: it is marked finished and its unfinished records are marked as errors.",
    danger: true,
  },
  clear: {
    label: "Clear",
    action: "harvest_source_clear",
    explain: "deletes every dataset this source harvested, and all its jobs and records. The source stays. " +
      "This cannot be undone.",
    danger: true,
  },
  "clear-history": {
    label: "Clear history",
    action: "harvest_source_job_history_clear",
    explain: "deletes the finished jobs and their records and errors. The datasets stay, linked to their remote " +
      "records.",
  },
  delete: {
    label: "Delete",
    action: "harvest_source_delete",
    explain: "deactivates the source: it is no longer harvested and its waiting jobs are cancelled. Its datasets " +
      "stay.",
    danger: true,
  },
};

export function one(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v[0] ?? "" : v ?? "";
}

export type WebApp = Hono<Env>;

/** The helpers each page module receives. */
export type Kit = ReturnType<typeof makeKit>;

export function makeKit(services: Services) {
  /** Calls an action as the signed-in user; typed by the action's declared output. */
  const act = <N extends ActionName>(c: Context<Env>, name: N, input: Dict): Promise<ActionOutput<N>> =>
    call({ services, actor: c.get("session").actor }, name, input);

  const page = async (c: Context<Env>, title: string, body: unknown, status = 200) =>
    c.html(
      "<!doctype html>" + String(
        await (
          <Layout title={title} session={c.get("session")} flash={c.req.query("done") ?? undefined}>
            {body as never}
          </Layout>
        ),
      ),
      status as 200,
    );

  /**
   * The one mapping of domain errors to answers: a page for each (404, 403 with a sign-in link, 409
   * listing the fields), or with `json` a small JSON body for the pages' scripts. Anything else is
   * a 500 page; what it was goes to the log, never to the browser.
   */
  const problem = (c: Context<Env>, error: unknown, options: { json?: boolean } = {}) => {
    const session = c.get("session");
    if (options.json) {
      const status = error instanceof NotFoundError
        ? 404
        : error instanceof AuthorizationError
        ? 403
        : error instanceof ValidationError
        ? 409
        : 500;
      if (status === 500) log.error("Web request failed: {error}", { error });
      return c.json({ error: status === 500 ? "Internal server error" : messageOf(error) }, status);
    }
    if (error instanceof NotFoundError) {
      return page(
        c,
        "Not found",
        <>
          <h1>Not found</h1>
          <p>{error.message}</p>
        </>,
        404,
      );
    }
    if (error instanceof AuthorizationError) {
      return page(
        c,
        "Not allowed",
        <>
          <h1>Not allowed</h1>
          <p>{error.message}</p>
          {session.loggedIn ? null : (
            <p>
              <a href={`/user/login?next=${encodeURIComponent(c.req.path)}`}>Log in</a>
            </p>
          )}
        </>,
        403,
      );
    }
    if (error instanceof ValidationError) {
      return page(
        c,
        "Cannot do that",
        <>
          <h1>Cannot do that</h1>
          <ul>{Object.entries(error.fields).map(([f, m]) => <li>{f}: {m.join("; ")}</li>)}</ul>
        </>,
        409,
      );
    }
    log.error("Web request failed: {error}", { error });
    return page(
      c,
      "Something went wrong",
      <>
        <h1>Something went wrong</h1>
        <p>The request could not be completed. The error is in the service's log.</p>
      </>,
      500,
    );
  };

  /**
   * `next` when it is a path on this site, else the source list. Browsers read `/\\host`, `/\t/host` and
   * the like as `//host`, another site, so a backslash, a control character or a second leading slash
   * is refused, and the result is checked to resolve to this origin.
   */
  const sameSitePath = (next: string) => {
    if (!/^\/(?![/\\])[^\\\s]*$/.test(next) || [...next].some((ch) => ch.charCodeAt(0) < 0x20)) return "/harvest";
    try {
      const base = "http://this.invalid";
      return new URL(next, base).origin === base ? next : "/harvest";
    } catch {
      return "/harvest";
    }
  };

  const sameOrigin = (origin: string, url: string) => {
    try {
      return new URL(origin).host === new URL(url).host;
    } catch {
      return false;
    }
  };

  return { services, act, page, problem, sameSitePath, sameOrigin };
}
