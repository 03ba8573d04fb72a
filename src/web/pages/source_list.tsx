/**
 * The source list: search, facets, sort, paging (the `harvest_source_search` action).
 *
 * @module
 */
import { JobBadge } from "../layout.tsx";
import { type Kit, PAGE, type WebApp } from "../kit.tsx";
import { FACETS, SORTS } from "../../actions/source_search.ts";

export function sourceListPage(app: WebApp, k: Kit): void {
  const { act, page } = k;
  // The source list: search, facets, sort, paging.
  app.get("/harvest", async (c) => {
    const q = (c.req.query("q") ?? "").trim().toLowerCase();
    const filters = {
      organization: c.req.query("organization") ?? "",
      type: c.req.query("type") ?? "",
      frequency: c.req.query("frequency") ?? "",
      status: c.req.query("status") ?? "",
    };
    const sort = SORTS.find((s) => s === c.req.query("sort")) ?? "title";
    const pageNo = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
    const found = await act(c, "harvest_source_search", { q, ...filters, sort, page: pageNo, rows: PAGE });
    const shown = found.results;
    const selected = { length: found.count };
    const link = (changes: Record<string, string>) => {
      const params = new URLSearchParams({ q, ...filters, sort, ...changes });
      for (const [k, v] of [...params]) if (!v) params.delete(k);
      return `/harvest?${params}`;
    };
    const facets = FACETS.map((k) => ({ key: k, counts: found.facets[k] ?? [] }));
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
}
