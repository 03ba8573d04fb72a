/**
 * The web UI under `/harvest` (and `/user/login`): server-rendered pages that call the actions as
 * the logged-in user, so they show and allow exactly what the API does. Every state change is a
 * POST carrying the session's form token, and a POST from another origin is refused.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Services } from "../services_type.ts";
import { ACTIONS, runAction } from "../actions/mod.ts";
import { AuthorizationError, messageOf, NotFoundError, ValidationError } from "../errors/mod.ts";
import { FREQUENCIES } from "../harvest/dicts.ts";
import { type SourceBrief, sourceBriefs } from "../actions/sources.ts";
import { sourceDatasetCounts } from "../harvest/sources.ts";
import { logIn, logOut, readSession, sameToken, type WebSession } from "./session.ts";
import { Csrf, JobBadge, JobsChart, Layout, prettyContent, type Stats, StatsList } from "./layout.tsx";

type Dict = Record<string, unknown>;
type Env = { Variables: { session: WebSession; form: Record<string, string | string[]> } };

interface SourceDict extends Dict {
  id: string;
  name: string;
  title: string;
  url: string;
  source_type: string;
  frequency: string;
  private: boolean;
  state: string;
  config?: string;
  notes: string;
  owner_org: string | null;
  organization: { name: string; title: string } | null;
  status: { job_count: number; last_job: JobDict | null; total_datasets: number; workers_warning?: string };
}
interface JobDict extends Dict {
  id: string;
  status: string;
  created: string;
  finished: string | null;
  stats: Stats;
  gather_error_summary?: { message: string; error_count: number }[];
  object_error_summary?: { message: string; error_count: number }[];
  objects_total?: number;
  objects_done?: number;
}

const PAGE = 20;

/** What each source button does, in the words its confirmation uses. */
const OPERATIONS: Record<string, { label: string; action: string; explain: string; danger?: boolean }> = {
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

function one(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v[0] ?? "" : v ?? "";
}

/** The web UI's routes, mounted at the root of the app. */
export function webRoutes(services: Services): Hono<Env> {
  const app = new Hono<Env>();

  const act = <T = unknown>(c: Context<Env>, name: string, input: Dict): Promise<T> =>
    runAction(ACTIONS.get(name)!, { services, actor: c.get("session").actor }, input) as Promise<T>;

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

  const problem = (c: Context<Env>, error: unknown) => {
    const session = c.get("session");
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
    throw error;
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

  app.get("/user/login", (c) => loginPage(c));
  function loginPage(c: Context<Env>, error?: string, status?: 401 | 429) {
    const next = c.req.query("next") ?? one(c.get("form")?.next) ?? "/harvest";
    return page(
      c,
      "Log in",
      <>
        <h1>Log in</h1>
        {error ? <p class="error" role="alert">{error}</p> : null}
        <form method="post" action="/user/login">
          <Csrf session={c.get("session")} />
          <input type="hidden" name="next" value={sameSitePath(next)} />
          <label for="username">Username</label>
          <input type="text" id="username" name="username" autocomplete="username" required />
          <label for="password">Password</label>
          <input type="password" id="password" name="password" autocomplete="current-password" required />
          <p>
            <button type="submit">Log in</button>
          </p>
        </form>
      </>,
      status ?? (error ? 401 : 200),
    );
  }
  app.post("/user/login", async (c) => {
    const form = c.get("form");
    const result = await logIn(services, c, one(form.username), one(form.password));
    if (!result.ok && result.retryAfter) {
      c.header("Retry-After", String(result.retryAfter));
      return loginPage(c, `Too many failed sign-ins: try again in ${result.retryAfter} s.`, 429);
    }
    if (!result.ok) return loginPage(c, "Wrong username or password.");
    return c.redirect(sameSitePath(one(form.next)), 303);
  });
  app.post("/user/logout", async (c) => {
    await logOut(services, c);
    return c.redirect("/harvest", 303);
  });

  // The source list: search, facets, sort, paging.
  app.get("/harvest", async (c) => {
    // Every visible source briefly (a few statements however many there are), full dicts for one page.
    const all = await sourceBriefs({ services, actor: c.get("session").actor });
    const q = (c.req.query("q") ?? "").trim().toLowerCase();
    const filters = {
      organization: c.req.query("organization") ?? "",
      type: c.req.query("type") ?? "",
      frequency: c.req.query("frequency") ?? "",
      status: c.req.query("status") ?? "",
    };
    const outcome = (s: SourceBrief) => {
      const j = s.last_job;
      if (!j) return "never harvested";
      if (j.status === "Running" || j.status === "New") return "running";
      if (j.status === "Aborted") return "aborted";
      return j.errored > 0 ? "errors" : "ok";
    };
    const facetValue: Record<keyof typeof filters, (s: SourceBrief) => string> = {
      organization: (s) => s.organization ?? "(none)",
      type: (s) => s.source_type,
      frequency: (s) => s.frequency,
      status: outcome,
    };
    const matchesText = (s: SourceBrief) =>
      !q || [s.name, s.title, s.url, s.notes].some((v) => String(v ?? "").toLowerCase().includes(q));
    const matches = (s: SourceBrief, skip?: string) =>
      matchesText(s) &&
      (Object.keys(filters) as (keyof typeof filters)[]).every((k) =>
        k === skip || !filters[k] || facetValue[k](s) === filters[k]
      );
    const selected = all.filter((s) => matches(s));
    const sort = c.req.query("sort") ?? "title";
    const datasets = sort === "datasets"
      ? await sourceDatasetCounts(services.sql, selected.map((s) => s.id))
      : new Map<string, number>();
    const sorters: Record<string, (a: SourceBrief, b: SourceBrief) => number> = {
      title: (a, b) => (a.title || a.name).localeCompare(b.title || b.name),
      newest: () => 0,
      datasets: (a, b) => (datasets.get(b.id) ?? 0) - (datasets.get(a.id) ?? 0),
      last_run: (a, b) => (b.last_job?.created.getTime() ?? 0) - (a.last_job?.created.getTime() ?? 0),
    };
    selected.sort(sorters[sort] ?? sorters.title!);
    const pageNo = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
    const shown: SourceDict[] = [];
    for (const s of selected.slice((pageNo - 1) * PAGE, pageNo * PAGE)) {
      shown.push(await act<SourceDict>(c, "harvest_source_show", { id: s.id }));
    }
    const link = (changes: Record<string, string>) => {
      const params = new URLSearchParams({ q, ...filters, sort, ...changes });
      for (const [k, v] of [...params]) if (!v) params.delete(k);
      return `/harvest?${params}`;
    };
    const facets = (Object.keys(filters) as (keyof typeof filters)[]).map((k) => {
      const counts = new Map<string, number>();
      for (const s of all.filter((s) => matches(s, k))) {
        counts.set(facetValue[k](s), (counts.get(facetValue[k](s)) ?? 0) + 1);
      }
      return { key: k, counts: [...counts].sort((a, b) => b[1] - a[1]) };
    });
    return page(
      c,
      "Harvest sources",
      <>
        <h1>Harvest sources</h1>
        <form method="get" action="/harvest" role="search">
          <label for="q">Search sources</label>
          <input type="search" id="q" name="q" value={q} />
          {Object.entries(filters).map(([k, v]) => v ? <input type="hidden" name={k} value={v} /> : null)}
          <label for="sort">Sort by</label>
          <select id="sort" name="sort">
            {[["title", "Title"], ["newest", "Newest"], ["last_run", "Last run"], ["datasets", "Datasets"]].map((
              [v, l],
            ) => <option value={v} selected={v === sort}>{l}</option>)}
          </select>{" "}
          <button type="submit">Search</button>
        </form>
        <div class="layout">
          <aside class="facets" aria-label="Filters">
            {facets.map((f) => (
              <section>
                <h2>
                  {{ organization: "Organization", type: "Type", frequency: "Frequency", status: "Last job" }[f.key]}
                </h2>
                <ul>
                  {f.counts.map(([value, n]) => (
                    <li>
                      {filters[f.key] === value
                        ? <a href={link({ [f.key]: "", page: "" })} aria-current="true">✕ {value} ({n})</a>
                        : <a href={link({ [f.key]: value, page: "" })}>{value} ({n})</a>}
                    </li>
                  ))}
                </ul>
              </section>
            ))}
          </aside>
          <section aria-label="Sources">
            <p>{selected.length} source{selected.length === 1 ? "" : "s"}</p>
            <table>
              <thead>
                <tr>
                  <th scope="col">Source</th>
                  <th scope="col" class="wide">Type</th>
                  <th scope="col" class="wide">Frequency</th>
                  <th scope="col">Last job</th>
                  <th scope="col">Datasets</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((s) => (
                  <tr>
                    <td>
                      <a href={`/harvest/${s.name}`}>{s.title || s.name}</a>
                      <div class="muted">{s.organization?.title ?? ""}</div>
                    </td>
                    <td class="wide">{s.source_type}</td>
                    <td class="wide">{s.frequency}</td>
                    <td>
                      <JobBadge job={s.status.last_job} />
                      {s.status.last_job
                        ? (
                          <div class="muted">
                            {s.status.last_job.stats.added} added, {s.status.last_job.stats.updated} updated,{" "}
                            {s.status.last_job.stats.deleted} deleted
                          </div>
                        )
                        : null}
                    </td>
                    <td>{s.status.total_datasets}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <nav class="pager" aria-label="Pages">
              {pageNo > 1 ? <a href={link({ page: String(pageNo - 1) })}>Previous</a> : null}
              {pageNo * PAGE < selected.length ? <a href={link({ page: String(pageNo + 1) })}>Next</a> : null}
            </nav>
          </section>
        </div>
      </>,
    );
  });

  // New and edit forms.
  async function sourceForm(
    c: Context<Env>,
    values: Dict,
    errors: Record<string, string[]>,
    existing?: SourceDict,
  ) {
    const infos = await act<{ name: string; title: string; description: string }[]>(c, "harvesters_info_show", {});
    const session = c.get("session");
    const orgs = session.actor.sysadmin
      ? await act<{ name: string; title: string }[]>(c, "organization_list", { all_fields: true, limit: 1000 })
      : ((await act<{ organizations: { name: string; capacity: string }[] }>(c, "user_show", {
        id: session.actor.name,
      })).organizations.filter((o) => o.capacity !== "member").map((o) => ({ name: o.name, title: o.name })));
    const field = (name: string) => ({
      id: name,
      name,
      "aria-invalid": errors[name] ? "true" : undefined,
      "aria-describedby": errors[name] ? `${name}-error` : undefined,
    });
    const errorFor = (name: string) =>
      errors[name] ? <p class="error" id={`${name}-error`}>{errors[name]!.join(" ")}</p> : null;
    const action = existing ? `/harvest/${existing.name}/edit` : "/harvest/new";
    return page(
      c,
      existing ? `Edit ${existing.title}` : "Add a harvest source",
      <>
        <h1>{existing ? `Edit ${existing.title || existing.name}` : "Add a harvest source"}</h1>
        {Object.keys(errors).length ? <p class="error" role="alert">Please correct the fields marked below.</p> : null}
        <form method="post" action={action}>
          <Csrf session={session} />
          <label for="url">URL of the remote catalog</label>
          <input type="url" {...field("url")} value={String(values.url ?? "")} required />
          {errorFor("url")}
          <label for="title">Title</label>
          <input type="text" {...field("title")} value={String(values.title ?? "")} />
          {errorFor("title")}
          <label for="name">Name (in URLs)</label>
          <input
            type="text"
            {...field("name")}
            value={String(values.name ?? "")}
            required
            pattern="[a-z0-9_\-]{2,100}"
          />
          <p class="hint" id="name-preview">
            Lower-case letters, digits, - and _. The source will live at /harvest/<span>
              {String(values.name ?? "")}
            </span>
          </p>
          {errorFor("name")}
          <fieldset>
            <legend>Type</legend>
            {infos.map((h) => (
              <label class="type-option">
                <input
                  type="radio"
                  name="source_type"
                  value={h.name}
                  checked={values.source_type === h.name}
                  required
                />{" "}
                <strong>{h.title}</strong> <span class="muted">{h.description}</span>
              </label>
            ))}
          </fieldset>
          {errorFor("source_type")}
          <label for="config">Configuration (JSON)</label>
          <textarea {...field("config")}>{String(values.config ?? "")}</textarea>
          <p class="hint">Checked by the chosen harvester; leave empty for the defaults.</p>
          {errorFor("config")}
          <label for="frequency">Update frequency</label>
          <select {...field("frequency")}>
            {FREQUENCIES.map((f) => <option value={f} selected={(values.frequency ?? "MANUAL") === f}>{f}</option>)}
          </select>
          {errorFor("frequency")}
          <label for="owner_org">Organization</label>
          <select {...field("owner_org")}>
            {session.actor.sysadmin ? <option value="">(none)</option> : null}
            {orgs.map((o) => <option value={o.name} selected={values.owner_org === o.name}>{o.title || o.name}
            </option>)}
          </select>
          {errorFor("owner_org")}
          <label>
            <input type="checkbox" name="private" value="true" checked={values.private === true} />{" "}
            Private (only members of the organization see it)
          </label>
          <p>
            <button type="submit">{existing ? "Save" : "Create source"}</button>{" "}
            <a href={existing ? `/harvest/${existing.name}` : "/harvest"}>Cancel</a>
          </p>
        </form>
        <script
          dangerouslySetInnerHTML={{
            __html:
              `(function(){var t=document.getElementById('title'),n=document.getElementById('name'),p=document.querySelector('#name-preview span');
var touched=${
                existing
                  ? "true"
                  : "false"
              }||n.value!=='';n.addEventListener('input',function(){touched=true;p.textContent=n.value;});
t.addEventListener('input',function(){if(touched)return;n.value=t.value.toLowerCase().normalize('NFKD').replace(/[^a-z0-9_-]+/g,'-').replace(/^-+|-+$/g,'').slice(0,100);p.textContent=n.value;});})();`,
          }}
        />
      </>,
      Object.keys(errors).length ? 409 : 200,
    );
  }
  const formValues = (form: Record<string, string | string[]>) => ({
    url: one(form.url).trim(),
    title: one(form.title),
    name: one(form.name).trim(),
    source_type: one(form.source_type),
    config: one(form.config),
    frequency: one(form.frequency) || "MANUAL",
    owner_org: one(form.owner_org) || null,
    private: one(form.private) === "true",
  });

  app.get("/harvest/new", async (c) => {
    if (!c.get("session").loggedIn) return c.redirect("/user/login?next=/harvest/new", 303);
    return await sourceForm(c, {}, {});
  });
  app.post("/harvest/new", async (c) => {
    const values = formValues(c.get("form"));
    try {
      const created = await act<SourceDict>(c, "harvest_source_create", values);
      return c.redirect(`/harvest/${created.name}?done=${encodeURIComponent("The source was created.")}`, 303);
    } catch (error) {
      if (error instanceof ValidationError) return await sourceForm(c, values, error.fields);
      return problem(c, error);
    }
  });
  app.get("/harvest/:name/edit", async (c) => {
    try {
      const s = await act<SourceDict>(c, "harvest_source_show", { id: c.req.param("name") });
      if (s.config === undefined) throw new AuthorizationError("Only editors of its organization may edit this source");
      return await sourceForm(c, { ...s, owner_org: s.organization?.name ?? null }, {}, s);
    } catch (error) {
      return problem(c, error);
    }
  });
  app.post("/harvest/:name/edit", async (c) => {
    const values = formValues(c.get("form"));
    let existing: SourceDict | undefined;
    try {
      existing = await act<SourceDict>(c, "harvest_source_show", { id: c.req.param("name") });
      const saved = await act<SourceDict>(c, "harvest_source_update", { id: existing.id, ...values });
      return c.redirect(`/harvest/${saved.name}?done=${encodeURIComponent("Saved.")}`, 303);
    } catch (error) {
      if (error instanceof ValidationError && existing) return await sourceForm(c, values, error.fields, existing);
      return problem(c, error);
    }
  });

  // The operator's dashboard.
  app.get("/harvest/admin", async (c) => {
    try {
      const status = await act<{
        running_jobs: JobDict[];
        queue_depth: { gather: number; fetch: number };
        consumers: { id: string; kind: string; last_seen_seconds: number }[];
        recent_failures: JobDict[];
        workers_warning?: string;
      }>(c, "harvest_status_show", {});
      const names = new Map<string, string>();
      for (const j of [...status.running_jobs, ...status.recent_failures]) {
        if (!names.has(String(j.source_id))) {
          const s = await act<SourceDict>(c, "harvest_source_show", { id: j.source_id }).catch(() => undefined);
          names.set(String(j.source_id), s?.name ?? String(j.source_id));
        }
      }
      const jobRow = (j: JobDict) => (
        <tr>
          <td>
            <a href={`/harvest/${names.get(String(j.source_id))}`}>{names.get(String(j.source_id))}</a>
          </td>
          <td>
            <a href={`/harvest/${names.get(String(j.source_id))}/job/${j.id}`}>{j.created}</a>
          </td>
          <td>
            <JobBadge job={j} />
          </td>
          <td>
            {j.objects_total !== undefined ? `${j.objects_done} of ${j.objects_total} records` : ""} {j.stats.added}
            {" "}
            added, {j.stats.errored} errored
          </td>
        </tr>
      );
      return page(
        c,
        "Dashboard",
        <>
          <h1>Dashboard</h1>
          {status.workers_warning
            ? <p class="error" role="alert" id="workers-warning">{status.workers_warning}</p>
            : null}
          <ul class="stats">
            <li>
              <strong>{status.running_jobs.length}</strong> running jobs
            </li>
            <li>
              <strong id="gather-depth">{status.queue_depth.gather}</strong> gather queue
            </li>
            <li>
              <strong id="fetch-depth">{status.queue_depth.fetch}</strong> fetch queue
            </li>
            <li>
              <strong>{status.consumers.length}</strong> live workers
            </li>
          </ul>
          <h2>Running jobs</h2>
          {status.running_jobs.length
            ? (
              <table>
                <tbody>{status.running_jobs.map(jobRow)}</tbody>
              </table>
            )
            : <p class="muted">None.</p>}
          <h2>Recent failures</h2>
          {status.recent_failures.length
            ? (
              <table>
                <tbody>{status.recent_failures.map(jobRow)}</tbody>
              </table>
            )
            : <p class="muted">None.</p>}
          <h2>Workers</h2>
          <ul>{status.consumers.map((w) => <li>{w.kind} {w.id}, seen {w.last_seen_seconds} s ago</li>)}</ul>
        </>,
      );
    } catch (error) {
      return problem(c, error);
    }
  });

  app.get("/harvest/object/:id", async (c) => {
    try {
      const o = await act<Dict & { errors: { message: string; stage: string }[] }>(c, "harvest_object_show", {
        id: c.req.param("id"),
      });
      return page(
        c,
        `Record ${o.guid}`,
        <>
          <h1>
            Record <code>{String(o.guid)}</code>
          </h1>
          <p>
            State {String(o.state)}, {o.current ? "current" : "not current"}, report status{" "}
            {String(o.report_status ?? "none")}. Gathered {String(o.gathered)}.
          </p>
          {o.errors.length
            ? (
              <>
                <h2>Errors</h2>
                <ul>
                  {o.errors.map((e) => (
                    <li>
                      <strong>{e.stage}</strong>: {e.message}
                    </li>
                  ))}
                </ul>
              </>
            )
            : null}
          <h2>Stored content</h2>
          <pre><code>{prettyContent(o.content as string | null)}</code></pre>
        </>,
      );
    } catch (error) {
      return problem(c, error);
    }
  });

  // The source page and its operations.
  app.get("/harvest/:name", async (c) => {
    try {
      const s = await act<SourceDict>(c, "harvest_source_show", { id: c.req.param("name") });
      const canEdit = s.config !== undefined;
      const jobs = canEdit ? await act<JobDict[]>(c, "harvest_job_list", { source_id: s.id, limit: 20 }) : [];
      const last = s.status.last_job;
      const running = last && (last.status === "Running" || last.status === "New");
      const pending = canEdit ? await act<unknown[]>(c, "harvest_source_pending_deletions", { id: s.id }) : [];
      return page(
        c,
        s.title || s.name,
        <>
          <h1>{s.title || s.name}</h1>
          <p>
            <JobBadge job={last} /> {s.state !== "active" ? <span class="badge bad">inactive</span> : null}{" "}
            {s.private ? <span class="badge muted">private</span> : null}
          </p>
          {s.status.workers_warning
            ? <p class="error" role="alert" id="workers-warning">{s.status.workers_warning}</p>
            : null}
          {s.notes ? <p>{s.notes}</p> : null}
          <table>
            <tbody>
              <tr>
                <th scope="row">Remote catalog</th>
                <td>
                  <a href={s.url} rel="noopener noreferrer">{s.url}</a>
                </td>
              </tr>
              <tr>
                <th scope="row">Type</th>
                <td>{s.source_type}</td>
              </tr>
              <tr>
                <th scope="row">Frequency</th>
                <td>{s.frequency}</td>
              </tr>
              <tr>
                <th scope="row">Organization</th>
                <td>{s.organization?.title ?? "(none)"}</td>
              </tr>
              <tr>
                <th scope="row">Datasets</th>
                <td id="total-datasets">{s.status.total_datasets}</td>
              </tr>
              <tr>
                <th scope="row">Jobs</th>
                <td>{s.status.job_count}</td>
              </tr>
            </tbody>
          </table>
          {canEdit
            ? (
              <div class="actions">
                {Object.entries(OPERATIONS).filter(([op]) =>
                  op === "stop" ? running && c.get("session").actor.sysadmin : op === "reharvest" ? !running : true
                ).map(([op, o]) => (
                  <a class={`button${o.danger ? " danger" : " secondary"}`} href={`/harvest/${s.name}/confirm/${op}`}>
                    {o.label}
                  </a>
                ))}
                <a class="button secondary" href={`/harvest/${s.name}/edit`}>Edit</a>
              </div>
            )
            : null}
          {pending.length
            ? (
              <p class="flash">
                {pending.length} deletion{pending.length === 1 ? "" : "s"} wait for approval:{" "}
                <a href={`/harvest/${s.name}/deletions`}>review them</a>
              </p>
            )
            : null}
          <h2>Last job</h2>
          {last
            ? (
              <>
                <p>
                  <a href={`/harvest/${s.name}/job/${last.id}`}>Job of {last.created}</a>
                  {last.finished ? `, finished ${last.finished}` : ""}
                </p>
                <StatsList stats={last.stats} />
              </>
            )
            : <p class="muted">Never harvested.</p>}
          {canEdit
            ? (
              <>
                <h2>Recent jobs</h2>
                <JobsChart jobs={jobs} />
                <p>
                  <a href={`/harvest/${s.name}/jobs`}>All jobs</a>
                </p>
              </>
            )
            : null}
        </>,
      );
    } catch (error) {
      return problem(c, error);
    }
  });

  app.get("/harvest/:name/confirm/:op", async (c) => {
    const op = OPERATIONS[c.req.param("op")];
    try {
      if (!op) throw new NotFoundError(`No such operation: ${c.req.param("op")}`);
      const s = await act<SourceDict>(c, "harvest_source_show", { id: c.req.param("name") });
      return page(
        c,
        `${op.label} ${s.title}`,
        <>
          <h1>{op.label} “{s.title || s.name}”?</h1>
          <p>{op.label} {op.explain}</p>
          <form method="post" action={`/harvest/${s.name}/${c.req.param("op")}`}>
            <Csrf session={c.get("session")} />
            <button type="submit" class={op.danger ? "danger" : undefined}>{op.label}</button>{" "}
            <a href={`/harvest/${s.name}`}>Cancel</a>
          </form>
        </>,
      );
    } catch (error) {
      return problem(c, error);
    }
  });

  app.post("/harvest/:name/:op{reharvest|stop|clear|clear-history|delete}", async (c) => {
    const op = OPERATIONS[c.req.param("op")]!;
    try {
      const s = await act<SourceDict>(c, "harvest_source_show", { id: c.req.param("name") });
      const input = op.action === "harvest_job_create" || op.action === "harvest_job_abort"
        ? { source_id: s.id }
        : { id: s.id };
      await act(c, op.action, input);
      return c.redirect(`/harvest/${s.name}?done=${encodeURIComponent(`${op.label}: done.`)}`, 303);
    } catch (error) {
      return problem(c, error);
    }
  });

  app.get("/harvest/:name/jobs", async (c) => {
    try {
      const s = await act<SourceDict>(c, "harvest_source_show", { id: c.req.param("name") });
      const pageNo = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
      const jobs = await act<JobDict[]>(c, "harvest_job_list", {
        source_id: s.id,
        limit: PAGE + 1,
        offset: (pageNo - 1) * PAGE,
      });
      return page(
        c,
        `Jobs of ${s.title}`,
        <>
          <h1>
            Jobs of <a href={`/harvest/${s.name}`}>{s.title || s.name}</a>
          </h1>
          <table>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Outcome</th>
                <th scope="col">Added</th>
                <th scope="col" class="wide">Updated</th>
                <th scope="col" class="wide">Not modified</th>
                <th scope="col" class="wide">Deleted</th>
                <th scope="col">Errored</th>
              </tr>
            </thead>
            <tbody>
              {jobs.slice(0, PAGE).map((j) => (
                <tr>
                  <td>
                    <a href={`/harvest/${s.name}/job/${j.id}`}>{j.created}</a>
                  </td>
                  <td>
                    <JobBadge job={j} />
                  </td>
                  <td>{j.stats.added}</td>
                  <td class="wide">{j.stats.updated}</td>
                  <td class="wide">{j.stats["not modified"]}</td>
                  <td class="wide">{j.stats.deleted}</td>
                  <td>{j.stats.errored}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Pages">
            {pageNo > 1 ? <a href={`?page=${pageNo - 1}`}>Newer</a> : null}
            {jobs.length > PAGE ? <a href={`?page=${pageNo + 1}`}>Older</a> : null}
          </nav>
        </>,
      );
    } catch (error) {
      return problem(c, error);
    }
  });

  app.get("/harvest/:name/job/:id/progress.json", async (c) => {
    try {
      const j = await act<JobDict>(c, "harvest_job_show", { id: c.req.param("id") });
      return c.json({
        status: j.status,
        stats: j.stats,
        objects_total: j.objects_total,
        objects_done: j.objects_done,
      });
    } catch (error) {
      const status = error instanceof NotFoundError ? 404 : error instanceof AuthorizationError ? 403 : 500;
      return c.json({ error: messageOf(error) }, status);
    }
  });

  app.get("/harvest/:name/job/:id", async (c) => {
    try {
      const s = await act<SourceDict>(c, "harvest_source_show", { id: c.req.param("name") });
      const j = await act<JobDict>(c, "harvest_job_show", { id: c.req.param("id") });
      const report = await act<{
        gather_errors: { message: string; created: string }[];
        object_errors: Record<
          string,
          { guid: string; original_url?: string; errors: { message: string; type: string }[] }
        >;
      }>(c, "harvest_job_report", { id: j.id });
      const byMessage = new Map<string, { type: string; records: { id: string; guid: string; url?: string }[] }>();
      for (const [id, o] of Object.entries(report.object_errors)) {
        for (const e of o.errors) {
          const key = `${e.type}: ${e.message}`;
          const group = byMessage.get(key) ?? byMessage.set(key, { type: e.type, records: [] }).get(key)!;
          group.records.push({ id, guid: o.guid, url: o.original_url });
        }
      }
      const groups = [...byMessage].sort((a, b) => b[1].records.length - a[1].records.length);
      const running = j.status === "Running" || j.status === "New";
      return page(
        c,
        `Job ${j.created}`,
        <>
          <h1>
            Job of <a href={`/harvest/${s.name}`}>{s.title || s.name}</a>, {j.created}
          </h1>
          <p>
            <span id="job-status">
              <JobBadge job={j} />
            </span>
            {j.finished ? ` Finished ${j.finished}.` : ""}
          </p>
          <div id="progress" data-url={`/harvest/${s.name}/job/${j.id}/progress.json`} data-running={String(running)}>
            <p>
              <span id="objects-done">{j.objects_done ?? 0}</span> of{" "}
              <span id="objects-total">{j.objects_total ?? 0}</span> records processed
            </p>
            <StatsList stats={j.stats} id="job-stats" />
          </div>
          <h2>Gather errors ({report.gather_errors.length})</h2>
          {report.gather_errors.length
            ? (
              <ul>
                {report.gather_errors.map((g) => (
                  <li>
                    {g.message} <span class="muted">({g.created})</span>
                  </li>
                ))}
              </ul>
            )
            : <p class="muted">None.</p>}
          <h2>Record errors by message ({groups.length})</h2>
          {groups.length
            ? groups.map(([message, g]) => (
              <details open={groups.length <= 5}>
                <summary>
                  <span class={g.type.toLowerCase().endsWith("warning") ? "warn" : "bad"}>{message}</span>{" "}
                  ({g.records.length} record{g.records.length === 1 ? "" : "s"})
                </summary>
                <ul>
                  {g.records.map((r) => (
                    <li>
                      <a href={`/harvest/object/${r.id}`}>{r.guid}</a>
                      {r.url
                        ? (
                          <>
                            · <a href={r.url} rel="noopener noreferrer">original</a>
                          </>
                        )
                        : null}
                    </li>
                  ))}
                </ul>
              </details>
            ))
            : <p class="muted">None.</p>}
          <script
            dangerouslySetInnerHTML={{
              __html: `(function(){var box=document.getElementById('progress');if(box.dataset.running!=='true')return;
function tick(){fetch(box.dataset.url,{credentials:'same-origin'}).then(function(r){return r.json();}).then(function(p){
document.getElementById('objects-done').textContent=p.objects_done;document.getElementById('objects-total').textContent=p.objects_total;
Object.keys(p.stats).forEach(function(k){var el=document.querySelector('#job-stats [data-stat="'+k+'"]');if(el)el.textContent=p.stats[k];});
if(p.status==='Running'||p.status==='New'){setTimeout(tick,1000);}else{document.getElementById('job-status').textContent='finished: reload for the report';}
}).catch(function(){setTimeout(tick,3000);});}setTimeout(tick,1000);})();`,
            }}
          />
        </>,
      );
    } catch (error) {
      return problem(c, error);
    }
  });

  app.get("/harvest/:name/deletions", async (c) => {
    try {
      const s = await act<SourceDict>(c, "harvest_source_show", { id: c.req.param("name") });
      const rows = await act<{ guid: string; name: string; title: string; reason: string }[]>(
        c,
        "harvest_source_pending_deletions",
        { id: s.id },
      );
      return page(
        c,
        `Pending deletions of ${s.title}`,
        <>
          <h1>
            Deletions of <a href={`/harvest/${s.name}`}>{s.title || s.name}</a> waiting for approval
          </h1>
          {rows.length
            ? (
              <form method="post" action={`/harvest/${s.name}/deletions`}>
                <Csrf session={c.get("session")} />
                <p>{rows[0]!.reason}</p>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Withdraw?</th>
                      <th scope="col">Dataset</th>
                      <th scope="col">Remote record</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((r) => (
                      <tr>
                        <td>
                          <input type="checkbox" name="guids" value={r.guid} id={`d-${r.guid}`} checked />
                        </td>
                        <td>
                          <label for={`d-${r.guid}`}>{r.title || r.name}</label>
                        </td>
                        <td>
                          <code>{r.guid}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <div class="actions">
                  <button type="submit" name="decision" value="approve" class="danger">
                    Approve: withdraw the checked datasets
                  </button>
                  <button type="submit" name="decision" value="reject" class="secondary">
                    Reject: keep the checked datasets
                  </button>
                </div>
              </form>
            )
            : <p class="muted">Nothing waits for approval.</p>}
        </>,
      );
    } catch (error) {
      return problem(c, error);
    }
  });

  app.post("/harvest/:name/deletions", async (c) => {
    const form = c.get("form");
    const guids = ([] as string[]).concat(form.guids ?? []);
    const decision = one(form.decision) === "approve" ? "approve" : "reject";
    try {
      const s = await act<SourceDict>(c, "harvest_source_show", { id: c.req.param("name") });
      if (guids.length === 0) throw ValidationError.of("guids", "Check at least one dataset");
      const r = await act<Dict>(c, `harvest_source_deletions_${decision}`, { id: s.id, guids });
      const done = decision === "approve"
        ? `Approved: ${r.withdrawn} dataset(s) withdrawn.` +
          (r.still_listed ? ` ${r.still_listed} kept: the remote lists them again.` : "")
        : `Rejected: ${r.rejected} dataset(s) kept.`;
      return c.redirect(`/harvest/${s.name}?done=${encodeURIComponent(done)}`, 303);
    } catch (error) {
      return problem(c, error);
    }
  });

  return app;
}
