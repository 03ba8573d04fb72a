/**
 * A CKAN-shaped HTTP server over an in-memory catalog, on loopback: what `demo` harvests and what
 * tests use as a remote CKAN. It answers the action API calls harvesters make, in CKAN's envelope.
 */
import type { SampleCatalog } from "./sample_catalog.ts";

export interface CkanServer extends AsyncDisposable {
  url: string;
  catalog: SampleCatalog;
  /** Every request received: path, query and headers, for tests to inspect. */
  requests: { path: string; params: URLSearchParams; headers: Headers }[];
  close(): Promise<void>;
}

type Dict = Record<string, unknown>;

function ok(result: unknown): Response {
  return Response.json({ help: "", success: true, result });
}

function fail(status: number, type: string, message: string): Response {
  return Response.json({ help: "", success: false, error: { __type: type, message } }, { status });
}

/** Evaluates the subset of Solr fq CKAN harvesters send: org/group terms, negation, OR, date ranges. */
function matches(d: Dict, fq: string): boolean {
  const clauses = fq.match(/-?\([^)]*\)|-?[\w.]+:(\[[^\]]*\]|"[^"]*"|\S+)/g) ?? [];
  return clauses.every((clause) => {
    const negate = clause.startsWith("-");
    const body = negate ? clause.slice(1) : clause;
    const alternatives = body.startsWith("(") ? body.slice(1, -1).split(/\s+OR\s+/) : [body];
    const hit = alternatives.some((alt) => {
      const i = alt.indexOf(":");
      const field = alt.slice(0, i);
      const value = alt.slice(i + 1).replace(/^"|"$/g, "");
      const org = d.organization as Dict | undefined;
      switch (field) {
        case "organization":
          return org?.name === value;
        case "groups":
          return (d.groups as Dict[]).some((g) => g.name === value);
        case "tags":
          return (d.tags as Dict[]).some((t) => t.name === value);
        case "metadata_modified": {
          const m = value.match(/^\[(\S+) TO (\S+)\]$/);
          if (!m) return false;
          const t = Date.parse(`${d.metadata_modified}Z`);
          const from = m[1] === "*" ? -Infinity : Date.parse(m[1]!);
          const to = m[2] === "*" ? Infinity : Date.parse(m[2]!);
          return t >= from && t <= to;
        }
        default:
          return String(d[field]) === value;
      }
    });
    return negate ? !hit : hit;
  });
}

/** Serves `catalog` as a CKAN action API on 127.0.0.1 (port 0 = any free port). */
export function serveCkanCatalog(
  catalog: SampleCatalog,
  options: {
    port?: number;
    requireApiKey?: string;
    delayMs?: number;
    /** CKAN's `ckan.search.rows_max`: at most this many rows a page, whatever was asked (default 1000). */
    rowsMax?: number;
    /** Answer 400 to a `package_search` with `fl`, as older or minimal CKAN APIs do. */
    refuseFl?: boolean;
  } = {},
): CkanServer {
  const requests: CkanServer["requests"] = [];
  const sorted = { source: undefined as Dict[] | undefined, length: -1, list: [] as Dict[] };
  const server = Deno.serve({ hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} }, async (req) => {
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    const url = new URL(req.url);
    requests.push({ path: url.pathname, params: url.searchParams, headers: req.headers });
    const m = url.pathname.match(/\/api\/(?:3\/)?action\/(\w+)$/);
    if (!m) return fail(404, "Not Found Error", "Not found");
    if (options.requireApiKey && req.headers.get("authorization") !== options.requireApiKey) {
      return fail(403, "Authorization Error", "Access denied");
    }
    const p = url.searchParams;
    const visible = catalog.datasets.filter((d) => d.state === "active" && !d.private);
    // Paging a large catalog sorted by id sorts it once, not on every page.
    const sortedById = () => {
      if (sorted.source !== catalog.datasets || sorted.length !== catalog.datasets.length) {
        sorted.list = [...catalog.datasets].sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1));
        sorted.source = catalog.datasets;
        sorted.length = catalog.datasets.length;
      }
      return sorted.list;
    };
    const findGroup = (list: Dict[], id: string | null) => list.find((g) => g.id === id || g.name === id);
    switch (m[1]) {
      case "status_show":
        return ok({ ckan_version: "2.10.4", site_title: "Sample CKAN", extensions: [] });
      case "package_search": {
        const rows = Math.min(Number(p.get("rows") ?? 10), options.rowsMax ?? 1000);
        if (options.refuseFl && p.get("fl")) {
          return fail(400, "Validation Error", "Search Query is invalid: unknown parameter fl");
        }
        const start = Number(p.get("start") ?? 0);
        const sort = p.get("sort") ?? "";
        let results = sort.startsWith("id") ? sortedById().filter((d) => d.state === "active" && !d.private) : visible;
        if (p.get("fq")) results = results.filter((d) => matches(d, p.get("fq")!));
        if (sort.startsWith("metadata_modified")) {
          results = [...results].sort((a, b) => String(b.metadata_modified).localeCompare(String(a.metadata_modified)));
        }
        const fl = p.get("fl")?.split(",").map((f) => f.trim()).filter(Boolean);
        const page = results.slice(start, start + rows)
          .map((d) => fl ? Object.fromEntries(fl.map((f) => [f, d[f]])) : d);
        return ok({ count: results.length, results: page, sort, facets: {} });
      }
      case "package_show": {
        const d = visible.find((x) => x.id === p.get("id") || x.name === p.get("id"));
        return d ? ok(d) : fail(404, "Not Found Error", "Dataset not found");
      }
      case "package_list":
        return ok(visible.map((d) => d.name));
      case "organization_show":
      case "group_show": {
        const list = (m[1] === "organization_show" ? catalog.organizations : catalog.groups) as unknown as Dict[];
        const g = findGroup(list, p.get("id"));
        return g
          ? ok({ ...g, type: m[1] === "organization_show" ? "organization" : "group", packages: [] })
          : fail(404, "Not Found Error", "Group not found");
      }
      case "organization_list":
        return ok(catalog.organizations.map((o) => o.name));
      case "group_list":
        return ok(catalog.groups.map((g) => g.name));
      default:
        return fail(400, "Bad Request", `Bad request - Action name not known: ${m[1]}`);
    }
  });
  const addr = server.addr as Deno.NetAddr;
  const close = () => server.shutdown();
  return { url: `http://127.0.0.1:${addr.port}`, catalog, requests, close, [Symbol.asyncDispose]: close };
}
