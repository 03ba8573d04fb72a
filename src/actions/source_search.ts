/**
 * `harvest_source_search`: the web UI's source list as an action, so the API offers the same search,
 * facets, sort and paging, and the page only renders.
 *
 * @module
 */
import { ANYONE } from "./access.ts";
import { z } from "zod";
import { sourceDatasetCounts } from "../harvest/tallies.ts";
import { defineAction, zInt } from "./registry.ts";
import { showSourceAs, type SourceBrief, sourceBriefs } from "./sources.ts";
import { getSource } from "../harvest/sources.ts";

export const FACETS = ["organization", "type", "frequency", "status"] as const;
type Facet = (typeof FACETS)[number];

/** What the last job of a source came to, as the status facet names it. */
function outcome(s: SourceBrief): string {
  const j = s.last_job;
  if (!j) return "never harvested";
  if (j.status === "Running" || j.status === "New") return "running";
  if (j.status === "Aborted") return "aborted";
  return j.errored > 0 ? "errors" : "ok";
}

const facetValue: Record<Facet, (s: SourceBrief) => string> = {
  organization: (s) => s.organization ?? "(none)",
  type: (s) => s.source_type,
  frequency: (s) => s.frequency,
  status: outcome,
};

export const SORTS = ["title", "newest", "last_run", "datasets"] as const;

export const harvestSourceSearch = defineAction({
  name: "harvest_source_search",
  access: ANYONE,
  doc: "Searches the active sources the caller may see: q (in name, title, url and notes, case-insensitively), " +
    "filters organization, type, frequency and status (of the last job: ok, errors, running, aborted, never " +
    "harvested), sort (title, newest, last_run, datasets), page and rows (default 20). Returns {count, results " +
    "(source dicts of the page), facets: {organization|type|frequency|status: [[value, count]]}}, each facet " +
    "counted with the other filters applied.",
  auth: "anyone; private sources only for their organization's members",
  sideEffectFree: true,
  input: z.object({
    q: z.string().optional(),
    organization: z.string().optional(),
    type: z.string().optional(),
    frequency: z.string().optional(),
    status: z.string().optional(),
    sort: z.enum(SORTS).optional(),
    page: zInt(1, 100_000).optional(),
    rows: zInt(1, 100).optional(),
  }),
  async run(ctx, input) {
    // Every visible source briefly (a few statements however many there are), full dicts for one page.
    const all = await sourceBriefs(ctx);
    const q = (input.q ?? "").trim().toLowerCase();
    const filters: Record<Facet, string> = {
      organization: input.organization ?? "",
      type: input.type ?? "",
      frequency: input.frequency ?? "",
      status: input.status ?? "",
    };
    const matchesText = (s: SourceBrief) =>
      !q || [s.name, s.title, s.url, s.notes].some((v) => String(v ?? "").toLowerCase().includes(q));
    const matches = (s: SourceBrief, skip?: Facet) =>
      matchesText(s) && FACETS.every((k) => k === skip || !filters[k] || facetValue[k](s) === filters[k]);
    const selected = all.filter((s) => matches(s));
    const sort = input.sort ?? "title";
    const datasets = sort === "datasets"
      ? await sourceDatasetCounts(ctx.services.sql, selected.map((s) => s.id))
      : new Map<string, number>();
    const sorters: Record<string, (a: SourceBrief, b: SourceBrief) => number> = {
      title: (a, b) => (a.title || a.name).localeCompare(b.title || b.name),
      newest: () => 0,
      datasets: (a, b) => (datasets.get(b.id) ?? 0) - (datasets.get(a.id) ?? 0),
      last_run: (a, b) => (b.last_job?.created.getTime() ?? 0) - (a.last_job?.created.getTime() ?? 0),
    };
    selected.sort(sorters[sort]!);
    const rows = input.rows ?? 20;
    const pageNo = input.page ?? 1;
    const results = [];
    for (const s of selected.slice((pageNo - 1) * rows, pageNo * rows)) {
      results.push(await showSourceAs(ctx, await getSource(ctx.services.sql, s.id)));
    }
    const facets = Object.fromEntries(FACETS.map((k) => {
      const counts = new Map<string, number>();
      for (const s of all.filter((s) => matches(s, k))) {
        counts.set(facetValue[k](s), (counts.get(facetValue[k](s)) ?? 0) + 1);
      }
      return [k, [...counts].sort((a, b) => b[1] - a[1])];
    }));
    return { count: selected.length, results, facets };
  },
});
