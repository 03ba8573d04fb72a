/**
 * A harvest object: its record as harvested, errors and extras.
 *
 * @module
 */
import { prettyContent } from "../layout.tsx";
import type { Kit, WebApp } from "../kit.tsx";

export function objectPage(app: WebApp, k: Kit): void {
  const { act, page } = k;
  app.get("/harvest/object/:id", async (c) => {
    const o = await act(c, "harvest_object_show", {
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
  });
}
