/**
 * A harvest object: its record as harvested, what its harvest changed in the dataset, errors and extras.
 *
 * @module
 */
import { prettyContent } from "../layout.tsx";
import { shown, Stamp } from "../format.tsx";
import type { Kit, WebApp } from "../kit.tsx";

export function objectPage(app: WebApp, k: Kit): void {
  const { act, page } = k;
  app.get("/harvest/object/:id", async (c) => {
    const o = await act(c, "harvest_object_show", {
      id: c.req.param("id"),
    });
    const changes = o.changes;
    const history = typeof o.package_id === "string"
      ? await act(c, "harvest_dataset_history", { id: o.package_id }).catch(() => [])
      : [];
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
        {changes.length
          ? (
            <>
              <h2>What this harvest changed</h2>
              <table id="changes">
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Before</th>
                    <th scope="col">After</th>
                  </tr>
                </thead>
                <tbody>
                  {changes.map((ch) => (
                    <tr>
                      <td>
                        <code>{ch.field}</code>
                      </td>
                      <td>{shown(ch.before)}</td>
                      <td>{shown(ch.after)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
          : null}
        {history.length > 1
          ? (
            <>
              <h2>History of this dataset</h2>
              <table id="dataset-history">
                <thead>
                  <tr>
                    <th scope="col">Harvested</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">What changed</th>
                  </tr>
                </thead>
                <tbody>
                  {history.map((h) => (
                    <tr>
                      <td>
                        {h.object_id === o.id
                          ? <strong>this record</strong>
                          : (
                            <a href={`/harvest/object/${h.object_id}`}>
                              <Stamp at={h.harvested} />
                            </a>
                          )}
                      </td>
                      <td>{h.status}</td>
                      <td>{h.changes.length ? h.changes.map((ch) => ch.field).join(", ") : "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
          : null}
        <h2>Stored content</h2>
        <pre><code>{prettyContent(o.content as string | null)}</code></pre>
      </>,
    );
  });
}
