/**
 * A source's jobs, one job's report, and its live progress.
 *
 * @module
 */
import { NotFoundError } from "../../errors/mod.ts";
import { JobBadge, StatsList } from "../layout.tsx";
import { type Kit, PAGE, type WebApp } from "../kit.tsx";

export function jobPages(app: WebApp, k: Kit): void {
  const { act, page, problem } = k;
  app.get("/harvest/:name/jobs", async (c) => {
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
    const pageNo = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
    const jobs = await act(c, "harvest_job_list", {
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
  });

  app.get("/harvest/:name/job/:id/progress.json", async (c) => {
    try {
      const j = await act(c, "harvest_job_show", { id: c.req.param("id") });
      return c.json({
        status: j.status,
        stats: j.stats,
        objects_total: j.objects_total,
        objects_done: j.objects_done,
      });
    } catch (error) {
      return problem(c, error, { json: true });
    }
  });

  // The newest job of a source, as the original's /harvest/<source>/job/last.
  app.get("/harvest/:name/job/last", async (c) => {
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
    const last = s.status.last_job;
    if (!last) throw new NotFoundError(`Source ${s.name} has no jobs yet`);
    return c.redirect(`/harvest/${s.name}/job/${last.id}`, 302);
  });

  app.get("/harvest/:name/job/:id", async (c) => {
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
    const j = await act(c, "harvest_job_show", { id: c.req.param("id") });
    const report = await act(c, "harvest_job_report", { id: j.id });
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
        {Object.keys(report.changes).length
          ? (
            <p id="change-summary">
              {j.stats.updated} updated: {Object.entries(report.changes).map(([f, n]) => `${f} ×${n}`).join(", ")}
            </p>
          )
          : null}
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
        <script src="/harvest/static/job_progress.js" defer></script>
      </>,
    );
  });
}
