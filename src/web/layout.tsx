/** @jsxImportSource hono/jsx */
/**
 * The page frame and small shared pieces of the web UI. Everything is rendered on the server and
 * escaped by hono/jsx; the little JavaScript there is only enhances (slug preview, live progress).
 *
 * @module
 */
import type { Child } from "hono/jsx";
import type { WebSession } from "./session.ts";
import { parseTime, Stamp } from "./format.tsx";

const CSS = `
:root{--fg:#1b1b1b;--muted:#555;--line:#d0d0d0;--bg:#fff;--accent:#0b57d0;--ok:#1e7b34;--bad:#b3261e;--warn:#8a5a00}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f4b400;outline-offset:2px}
header{background:#1f2937;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
header a{color:#fff}header nav{display:flex;gap:1rem;flex-wrap:wrap;flex:1}header form{margin:0}
main{max-width:72rem;margin:0 auto;padding:1rem}h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
.layout{display:grid;grid-template-columns:14rem 1fr;gap:1.5rem}@media (max-width:48rem){.layout{grid-template-columns:1fr}
.wide{display:none}th,td{padding:.3rem}}
.facets h2{font-size:1rem;margin:1rem 0 .25rem}.facets ul{list-style:none;padding:0;margin:0}.facets li{margin:.15rem 0}
.badge{display:inline-block;padding:0 .45rem;border-radius:.75rem;font-size:.85rem;border:1px solid currentColor}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.muted{color:var(--muted)}
label{display:block;font-weight:600;margin-top:1rem}input[type=text],input[type=url],input[type=password],input[type=search],select,textarea{width:100%;max-width:40rem;padding:.45rem;font:inherit;border:1px solid #767676;border-radius:.25rem}
textarea{font-family:ui-monospace,monospace;min-height:8rem}.hint{color:var(--muted);font-size:.9rem;margin:.2rem 0}
.error{color:var(--bad);font-weight:600;margin:.25rem 0}[aria-invalid=true]{border-color:var(--bad)!important;border-width:2px!important}
button,.button{display:inline-block;font:inherit;padding:.45rem .9rem;border-radius:.25rem;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
.button.secondary,button.secondary{background:#fff;color:var(--accent)}.button.danger,button.danger{background:var(--bad);border-color:var(--bad)}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}.flash{padding:.6rem 1rem;border-left:4px solid var(--ok);background:#eef7ee}
.stats{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0}.stats li{border:1px solid var(--line);padding:.4rem .8rem;border-radius:.25rem}
.stats strong{display:block;font-size:1.3rem}pre{background:#f5f5f5;padding:1rem;overflow:auto;max-height:70vh}
fieldset{border:1px solid var(--line);max-width:40rem}.pager{display:flex;gap:1rem;margin:1rem 0}
form.inline{display:inline}.notes{max-width:48rem}
.type-option{display:block;font-weight:normal;margin:.4rem 0}.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;color:#000;padding:.5rem}
`;

export function Layout(props: { title: string; session: WebSession; children: Child; flash?: string }) {
  const { session } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Harvest</title>
        <style dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <nav aria-label="Main">
            <a href="/harvest">Harvest sources</a>
            {session.loggedIn ? <a href="/harvest/new">Add a source</a> : null}
            {session.actor.sysadmin ? <a href="/harvest/admin">Dashboard</a> : null}
            <a href="/api/docs">API</a>
          </nav>
          {session.loggedIn
            ? (
              <form method="post" action="/user/logout">
                <input type="hidden" name="_csrf" value={session.csrf} />
                <span>{session.actor.name}</span> <button type="submit" class="secondary">Log out</button>
              </form>
            )
            : <a href="/user/login">Log in</a>}
        </header>
        <main id="main">
          {props.flash ? <p class="flash" role="status">{props.flash}</p> : null}
          {props.children}
        </main>
        <script src="/harvest/static/times.js" defer></script>
      </body>
    </html>
  );
}

/** A hidden CSRF field for POST forms. */
export function Csrf(props: { session: WebSession }) {
  return <input type="hidden" name="_csrf" value={props.session.csrf} />;
}

export type Stats = Record<"added" | "updated" | "not modified" | "deleted" | "errored", number>;

export function StatsList(props: { stats: Stats; id?: string }) {
  const s = props.stats;
  return (
    <ul class="stats" id={props.id}>
      {(["added", "updated", "not modified", "deleted", "errored"] as const).map((k) => (
        <li>
          <strong data-stat={k} class={k === "errored" && s[k] > 0 ? "bad" : undefined}>{s[k]}</strong> {k}
        </li>
      ))}
    </ul>
  );
}

/** How a job went, in one badge. */
export function JobBadge(props: { job: { status: string; stats: Stats } | null | undefined }) {
  const j = props.job;
  if (!j) return <span class="badge muted">never harvested</span>;
  if (j.status === "Running" || j.status === "New") return <span class="badge warn">{j.status.toLowerCase()}</span>;
  if (j.status === "Aborted") return <span class="badge muted">aborted</span>;
  return j.stats.errored > 0
    ? <span class="badge bad">finished with {j.stats.errored} error{j.stats.errored === 1 ? "" : "s"}</span>
    : <span class="badge ok">finished</span>;
}

const SERIES = [
  ["added", "#1e7b34"],
  ["updated", "#0b57d0"],
  ["not modified", "#9aa0a6"],
  ["deleted", "#e8710a"],
  ["errored", "#b3261e"],
] as const;

/** A job's creation day under its bar (`12-02`), or to the minute in its tooltip, UTC. */
function day(created: string | null, full: boolean): string {
  const at = parseTime(created);
  if (!at) return "";
  return full ? `${at.toISOString().slice(0, 16).replace("T", " ")} UTC` : at.toISOString().slice(5, 10);
}

/** The recent jobs of a source as stacked bars, drawn on the server, each dated under its bar. */
export function JobsChart(props: { jobs: { id: string; created: string | null; stats: Stats }[] }) {
  const jobs = [...props.jobs].reverse();
  if (jobs.length === 0) return <p class="muted">No jobs yet.</p>;
  const width = 640, height = 200, pad = 30;
  const max = Math.max(1, ...jobs.map((j) => SERIES.reduce((n, [k]) => n + j.stats[k], 0)));
  const bar = Math.min(60, (width - pad * 2) / jobs.length);
  return (
    <figure>
      <svg
        viewBox={`0 0 ${width} ${height + 56}`}
        role="img"
        aria-label={`Outcome of the last ${jobs.length} jobs`}
        style="max-width:100%;height:auto"
      >
        <line x1={pad} y1={height} x2={width - pad} y2={height} stroke="#767676" />
        <text x="2" y="12" font-size="11" fill="#555">{max}</text>
        {jobs.map((j, i) => {
          let y = height;
          return (
            <g>
              {SERIES.map(([k, color]) => {
                const h = (j.stats[k] / max) * (height - 20);
                y -= h;
                return h > 0
                  ? (
                    <rect x={pad + i * bar + 2} y={y} width={Math.max(1, bar - 4)} height={h} fill={color}>
                      <title>{`${day(j.created, true)}: ${j.stats[k]} ${k}`}</title>
                    </rect>
                  )
                  : null;
              })}
              <text x={pad + i * bar + bar / 2} y={height + 13} font-size="10" text-anchor="middle" fill="#555">
                {day(j.created, false)}
              </text>
            </g>
          );
        })}
        {SERIES.map(([k, color], i) => (
          <g>
            <rect x={pad + i * 120} y={height + 34} width="12" height="12" fill={color} />
            <text x={pad + i * 120 + 16} y={height + 45} font-size="12" fill="#1b1b1b">{k}</text>
          </g>
        ))}
      </svg>
      <details>
        <summary>The same as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Job created</th>
              {SERIES.map(([k]) => <th scope="col">{k}</th>)}
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr>
                <td>
                  <Stamp at={j.created} />
                </td>
                {SERIES.map(([k]) => <td>{j.stats[k]}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** Pretty-prints stored content: JSON indented, XML indented by tag, anything else as it is. */
export function prettyContent(content: string | null): string {
  if (content === null) return "(no content stored)";
  const t = content.trim();
  if (t.startsWith("{") || t.startsWith("[")) {
    try {
      return JSON.stringify(JSON.parse(t), null, 2);
    } catch { /* shown as it is */ }
  }
  if (t.startsWith("<")) {
    let depth = 0;
    return t.replace(/>\s*</g, ">\n<").split("\n").map((line) => {
      if (/^<\//.test(line)) depth = Math.max(0, depth - 1);
      const out = "  ".repeat(depth) + line;
      if (/^<[^!?/][^>]*[^/]>$/.test(line) && !/<\/[^>]+>$/.test(line)) depth++;
      return out;
    }).join("\n");
  }
  return content;
}
