/**
 * The source page and its operations (reharvest, stop, clear, delete), each confirmed first.
 *
 * @module
 */
import { NotFoundError } from "../../errors/mod.ts";
import { Csrf, JobBadge, JobsChart, StatsList } from "../layout.tsx";
import { type Kit, OPERATIONS, type SourceDict, type WebApp } from "../kit.tsx";
import { Markdown, When } from "../format.tsx";

/** When the scheduler starts the source next, in words, or the time. */
function NextRun(props: { s: SourceDict; running: boolean }) {
  const { s } = props;
  if (s.state !== "active") return <span class="muted">never: the source is inactive</span>;
  if (s.frequency === "MANUAL") return <span class="muted">only when started by hand (frequency MANUAL)</span>;
  if (props.running) return <span>after the running job</span>;
  const next = s.next_run;
  if (!next) return <span>at the scheduler's next tick</span>;
  return <When at={next} />;
}

export function sourcePages(app: WebApp, k: Kit): void {
  const { act, page } = k;
  // The source page and its operations.
  app.get("/harvest/:name", async (c) => {
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
    const q = c.req.query("q") ?? "";
    const pageNo = Math.max(1, Math.min(100_000, Number(c.req.query("page")) || 1));
    const datasets = await act(c, "harvest_source_datasets", { id: s.id, q, page: pageNo, rows: 20 });
    const canEdit = s.config !== undefined;
    const jobs = canEdit ? await act(c, "harvest_job_list", { source_id: s.id, limit: 20 }) : [];
    const last = s.status.last_job;
    const running = last && (last.status === "Running" || last.status === "New");
    const pending = canEdit ? await act(c, "harvest_source_pending_deletions", { id: s.id }) : [];
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
        {s.notes ? <Markdown text={s.notes} id="source-notes" /> : null}
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
              <th scope="row">Last run</th>
              <td id="last-run">
                {last ? <When at={last.finished ?? last.gather_started ?? last.created} /> : <When at={null} />}
              </td>
            </tr>
            <tr>
              <th scope="row">Next run</th>
              <td id="next-run">
                <NextRun s={s} running={Boolean(running)} />
              </td>
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
              {s.state === "active"
                ? (
                  <form method="post" action={`/harvest/${s.name}/preview`} class="inline">
                    <Csrf session={c.get("session")} />
                    <button type="submit" class="secondary" id="preview-button">Preview</button>
                  </form>
                )
                : null}
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
        <h2 id="datasets">Datasets</h2>
        <form method="get" action={`/harvest/${s.name}#datasets`} role="search">
          <label for="dataset-q">Search this source's datasets</label>
          <input type="search" id="dataset-q" name="q" value={q} />{" "}
          <button type="submit" class="secondary">Search</button>
        </form>
        <p id="dataset-count">
          {datasets.count} dataset{datasets.count === 1 ? "" : "s"}
          {q ? ` ${datasets.count === 1 ? "matches" : "match"} “${q}”` : ""}
        </p>
        {datasets.results.length
          ? (
            <table id="dataset-list">
              <thead>
                <tr>
                  <th scope="col">Dataset</th>
                  <th scope="col" class="wide">Changed</th>
                  <th scope="col">Harvest record</th>
                  <th scope="col">Original</th>
                </tr>
              </thead>
              <tbody>
                {datasets.results.map((d) => (
                  <tr>
                    <td>
                      <a href={`/api/3/action/package_show?id=${encodeURIComponent(d.name)}`}>{d.title || d.name}</a>
                    </td>
                    <td class="wide">
                      <When at={d.metadata_modified} />
                    </td>
                    <td>{d.harvest_object_id ? <a href={`/harvest/object/${d.harvest_object_id}`}>record</a> : "—"}</td>
                    <td>
                      {d.original_url ? <a href={d.original_url} rel="noopener noreferrer">on the remote</a> : "—"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
          : null}
        {datasets.count > 20
          ? (
            <nav class="pager" aria-label="Dataset pages">
              {pageNo > 1
                ? (
                  <a href={`/harvest/${s.name}?q=${encodeURIComponent(q)}&page=${pageNo - 1}#datasets`} rel="prev">
                    Previous
                  </a>
                )
                : null}
              <span>Page {pageNo} of {Math.ceil(datasets.count / 20)}</span>
              {pageNo * 20 < datasets.count
                ? (
                  <a href={`/harvest/${s.name}?q=${encodeURIComponent(q)}&page=${pageNo + 1}#datasets`} rel="next">
                    Next
                  </a>
                )
                : null}
            </nav>
          )
          : null}
        <h2>Last job</h2>
        {last
          ? (
            <>
              <p>
                <a href={`/harvest/${s.name}/job/${last.id}`}>
                  Job of <When at={last.created} />
                </a>
                {last.finished
                  ? (
                    <>
                      , finished <When at={last.finished} />
                    </>
                  )
                  : null}
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
  });

  app.get("/harvest/:name/confirm/:op", async (c) => {
    const op = OPERATIONS[c.req.param("op")];
    if (!op) throw new NotFoundError(`No such operation: ${c.req.param("op")}`);
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
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
  });

  app.post("/harvest/:name/:op{reharvest|stop|clear|clear-history|delete}", async (c) => {
    const op = OPERATIONS[c.req.param("op")]!;
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
    const input = op.action === "harvest_job_create" || op.action === "harvest_job_abort"
      ? { source_id: s.id }
      : { id: s.id };
    await act(c, op.action, input);
    return c.redirect(`/harvest/${s.name}?done=${encodeURIComponent(`${op.label}: done.`)}`, 303);
  });
}
