/**
 * The source page and its operations (reharvest, stop, clear, delete), each confirmed first.
 *
 * @module
 */
import { NotFoundError } from "../../errors/mod.ts";
import { Csrf, JobBadge, JobsChart, StatsList } from "../layout.tsx";
import { type Kit, OPERATIONS, type WebApp } from "../kit.tsx";

export function sourcePages(app: WebApp, k: Kit): void {
  const { act, page } = k;
  // The source page and its operations.
  app.get("/harvest/:name", async (c) => {
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
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
