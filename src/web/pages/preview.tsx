/**
 * Preview, then apply, in the web UI: the source page's Preview button makes a dry run and shows
 * what a harvest would add, update (field by field), withdraw and fail; Apply writes exactly that, or
 * leads to the fresh preview when the remote changed since.
 *
 * @module
 */
import { PlanOutdatedError } from "../../harvest/apply.ts";
import { Csrf } from "../layout.tsx";
import type { Kit, WebApp } from "../kit.tsx";
import { shown, When } from "../format.tsx";

/** Rows shown per kind of change; the API and `harvester --json plan-show` have them all. */
const SHOWN = 200;

export function previewPages(app: WebApp, k: Kit): void {
  const { act, page } = k;

  app.post("/harvest/:name/preview", async (c) => {
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
    const plan = await act(c, "harvest_source_plan", { id: s.id });
    return c.redirect(`/harvest/${s.name}/preview/${plan.id}`, 303);
  });

  app.get("/harvest/:name/preview/:id", async (c) => {
    const plan = await act(c, "harvest_plan_show", { id: c.req.param("id") });
    const s = await act(c, "harvest_source_show", { id: plan.source_id });
    const counts = plan.counts;
    const of = (action: string) => plan.items.filter((i) => i.action === action);
    const more = (n: number) => n > SHOWN ? <p class="muted">… and {n - SHOWN} more</p> : null;
    const expired = new Date(plan.expires).getTime() < Date.now();
    return page(
      c,
      `Preview of ${s.title || s.name}`,
      <>
        <h1>Preview of a harvest of {s.title || s.name}</h1>
        <p>
          Made <When at={plan.created} /> in {plan.seconds}{" "}
          s. Nothing has been written: this is what a harvest would do now.
        </p>
        <ul class="stats" id="plan-counts">
          <li data-count="add">
            <strong>{counts.add}</strong> to add
          </li>
          <li data-count="update">
            <strong>{counts.update}</strong> to update
          </li>
          <li data-count="leave">
            <strong>{counts.leave}</strong> to leave
          </li>
          <li data-count="withdraw">
            <strong>{counts.withdraw}</strong> to withdraw
          </li>
          <li data-count="error">
            <strong>{counts.error}</strong> to fail
          </li>
        </ul>
        {plan.gather_errors.map((e) => <p class="error">Gather error: {e}</p>)}
        {plan.held_deletions
          ? (
            <p class="flash">
              {plan.held_deletions.count} withdrawal(s) would wait for approval: {plan.held_deletions.reason}
            </p>
          )
          : null}
        {!plan.complete_listing
          ? <p class="muted">The remote's listing was not complete: nothing would be withdrawn.</p>
          : null}
        {plan.applied
          ? (
            <p id="plan-applied">
              Applied <When at={plan.applied} />
              {plan.applied_job_id
                ? (
                  <>
                    by <a href={`/harvest/${s.name}/job/${plan.applied_job_id}`}>this job</a>
                  </>
                )
                : null}.
            </p>
          )
          : expired
          ? (
            <p class="muted">
              This preview expired <When at={plan.expires} />: make a new one from the source page.
            </p>
          )
          : (
            <form method="post" action={`/harvest/${s.name}/preview/${plan.id}/apply`}>
              <Csrf session={c.get("session")} />
              <p class="hint">
                Apply reads the remote again and writes exactly this, or refuses if anything changed since.
              </p>
              <button type="submit" id="apply-button">Apply</button> <a href={`/harvest/${s.name}`}>Cancel</a>
            </form>
          )}
        {of("update").length
          ? (
            <>
              <h2>To update</h2>
              <table id="plan-updates">
                <thead>
                  <tr>
                    <th scope="col">Dataset</th>
                    <th scope="col">Field</th>
                    <th scope="col">Now</th>
                    <th scope="col">After</th>
                  </tr>
                </thead>
                <tbody>
                  {of("update").slice(0, SHOWN).flatMap((item) =>
                    (item.changes?.length ? item.changes : [{ field: "(no field shown)" }]).map((ch, i) => (
                      <tr data-guid={item.guid}>
                        <td>{i === 0 ? item.dataset?.title || item.dataset?.name || item.guid : ""}</td>
                        <td>
                          <code>{ch.field}</code>
                        </td>
                        <td>{shown((ch as { before?: unknown }).before)}</td>
                        <td>{shown((ch as { after?: unknown }).after)}</td>
                      </tr>
                    ))
                  )}
                </tbody>
              </table>
              {more(of("update").length)}
            </>
          )
          : null}
        {of("add").length
          ? (
            <>
              <h2>To add</h2>
              <ul id="plan-adds">
                {of("add").slice(0, SHOWN).map((i) => (
                  <li>
                    {i.title ?? i.guid} <code class="muted">{i.guid}</code>
                  </li>
                ))}
              </ul>
              {more(of("add").length)}
            </>
          )
          : null}
        {of("withdraw").length
          ? (
            <>
              <h2>To withdraw</h2>
              <ul id="plan-withdrawals">
                {of("withdraw").slice(0, SHOWN).map((i) => <li>{i.dataset?.title || i.dataset?.name || i.guid}</li>)}
              </ul>
              {more(of("withdraw").length)}
            </>
          )
          : null}
        {of("error").length
          ? (
            <>
              <h2>Would fail</h2>
              <ul id="plan-errors">
                {of("error").slice(0, SHOWN).map((i) => (
                  <li>
                    <code>{i.guid}</code>: {(i.errors ?? []).join("; ")}
                  </li>
                ))}
              </ul>
              {more(of("error").length)}
            </>
          )
          : null}
      </>,
    );
  });

  app.post("/harvest/:name/preview/:id/apply", async (c) => {
    const plan = await act(c, "harvest_plan_show", { id: c.req.param("id") });
    const s = await act(c, "harvest_source_show", { id: plan.source_id });
    try {
      const result = await act(c, "harvest_plan_apply", { id: plan.id });
      const done = `Applied: ${result.job.stats.added} added, ${result.job.stats.updated} updated, ` +
        `${result.job.stats.deleted} withdrawn, ${result.job.stats.errored} failed.`;
      return c.redirect(`/harvest/${s.name}/job/${result.job.jobId}?done=${encodeURIComponent(done)}`, 303);
    } catch (error) {
      if (!(error instanceof PlanOutdatedError)) throw error;
      const done = "Nothing was written: the remote or the local catalog changed since that preview. " +
        "This is a new preview of what a harvest would do now.";
      return c.redirect(`/harvest/${s.name}/preview/${error.newPlanId}?done=${encodeURIComponent(done)}`, 303);
    }
  });
}
