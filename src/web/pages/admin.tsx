/**
 * The operator's dashboard.
 *
 * @module
 */
import { JobBadge } from "../layout.tsx";
import type { JobDict, Kit, WebApp } from "../kit.tsx";

export function adminPage(app: WebApp, k: Kit): void {
  const { act, page } = k;
  // The operator's dashboard.
  app.get("/harvest/admin", async (c) => {
    const status = await act(c, "harvest_status_show", {});
    const names = new Map<string, string>();
    for (const j of [...status.running_jobs, ...status.recent_failures]) {
      if (!names.has(String(j.source_id))) {
        const s = await act(c, "harvest_source_show", { id: j.source_id }).catch(() => undefined);
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
          {j.objects_total !== undefined ? `${j.objects_done} of ${j.objects_total} records` : ""} {j.stats.added}{" "}
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
  });
}
