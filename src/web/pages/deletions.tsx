/**
 * Deletions held for approval, and the decision on them.
 *
 * @module
 */
import { ValidationError } from "../../errors/mod.ts";
import { Csrf } from "../layout.tsx";
import { type Kit, one, type WebApp } from "../kit.tsx";

export function deletionPages(app: WebApp, k: Kit): void {
  const { act, page } = k;
  app.get("/harvest/:name/deletions", async (c) => {
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
    const rows = await act(c, "harvest_source_pending_deletions", { id: s.id });
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
  });

  app.post("/harvest/:name/deletions", async (c) => {
    const form = c.get("form");
    const guids = ([] as string[]).concat(form.guids ?? []);
    const decision = one(form.decision) === "approve" ? "approve" : "reject";
    const s = await act(c, "harvest_source_show", { id: c.req.param("name") });
    if (guids.length === 0) throw ValidationError.of("guids", "Check at least one dataset");
    const r = await act(c, `harvest_source_deletions_${decision}`, { id: s.id, guids });
    const done = decision === "approve"
      ? `Approved: ${r.withdrawn} dataset(s) withdrawn.` +
        (r.still_listed ? ` ${r.still_listed} kept: the remote lists them again.` : "")
      : `Rejected: ${r.rejected} dataset(s) kept.`;
    return c.redirect(`/harvest/${s.name}?done=${encodeURIComponent(done)}`, 303);
  });
}
