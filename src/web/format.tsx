/**
 * Text the web UI formats: a source's notes as Markdown (raw HTML escaped, only http, https and
 * mailto links), and times as `<time>` elements that read "3 hours ago" in UTC on the server and are
 * rewritten in the viewer's own time zone by static/times.js.
 *
 * @module
 */
// @ts-types="@types/markdown-it"
import MarkdownIt from "markdown-it";

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });
// Links leave the site without our referrer, and only to the web or to mail.
md.validateLink = (url: string) => /^(https?:|mailto:)/i.test(url.trim());
const defaultLink = md.renderer.rules.link_open ??
  ((tokens, i, options, _env, self) => self.renderToken(tokens, i, options));
md.renderer.rules.link_open = (tokens, i, options, env, self) => {
  tokens[i]!.attrSet("rel", "nofollow noopener noreferrer");
  return defaultLink(tokens, i, options, env, self);
};
// The page has its own h1 and h2: the notes' headings start below them.
md.renderer.rules.heading_open = (tokens, i, options, _env, self) => {
  const level = Math.min(6, Number(tokens[i]!.tag.slice(1)) + 2);
  tokens[i]!.tag = `h${level}`;
  return self.renderToken(tokens, i, options);
};
md.renderer.rules.heading_close = (tokens, i, options, _env, self) => {
  const level = Math.min(6, Number(tokens[i]!.tag.slice(1)) + 2);
  tokens[i]!.tag = `h${level}`;
  return self.renderToken(tokens, i, options);
};

/** Markdown rendered to HTML that cannot carry script: raw HTML is escaped, links are checked. */
export function renderMarkdown(text: string): string {
  return md.render(text);
}

export function Markdown(props: { text: string; id?: string }) {
  return <div class="notes" id={props.id} dangerouslySetInnerHTML={{ __html: renderMarkdown(props.text) }} />;
}

/** A time the actions give (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC, or ISO 8601) as a Date. */
export function parseTime(value: string | null | undefined): Date | undefined {
  if (!value) return undefined;
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(" ", "T")}Z`;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** "3 hours ago", "in 2 days": what the server writes before the viewer's browser rewrites it. */
export function relative(at: Date, now = new Date()): string {
  const seconds = Math.round((at.getTime() - now.getTime()) / 1000);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["year", 31_536_000],
    ["month", 2_592_000],
    ["week", 604_800],
    ["day", 86_400],
    ["hour", 3_600],
    ["minute", 60],
  ];
  const format = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.trunc(seconds / size), unit);
  }
  return format.format(seconds, "second");
}

/** A time, relative and absolute to the minute, no microseconds; the viewer's zone once times.js runs. */
export function When(props: { at: string | null | undefined; empty?: string }) {
  const at = parseTime(props.at);
  if (!at) return <span class="muted">{props.empty ?? "never"}</span>;
  const absolute = `${at.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return (
    <time datetime={at.toISOString()} title={absolute} data-relative="true">
      {relative(at)} ({absolute})
    </time>
  );
}

/** A time to the second, no microseconds, for tables: `2026-12-02 05:41:07 UTC`, local once times.js runs. */
export function Stamp(props: { at: string | null | undefined }) {
  const at = parseTime(props.at);
  if (!at) return <span class="muted">—</span>;
  return (
    <time datetime={at.toISOString()} data-absolute="true">{at.toISOString().slice(0, 19).replace("T", " ")} UTC</time>
  );
}

/** A changed value as text: lists as comma-separated names, the rest as JSON or as it is. */
export function shown(v: unknown): string {
  if (v === undefined || v === null || v === "") return "—";
  if (Array.isArray(v)) return v.length ? v.join(", ") : "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}
