/**
 * The architecture as measured on the code: the import graph of `src/` (circles, and imports from a
 * lower layer up into a higher one), the files over the size limit, and every file that writes SQL
 * against a table it does not own. `deno task architecture` prints the map; `tests/architecture_test.ts`
 * fails on any violation.
 *
 * @module
 */

/** The layers, lowest first. A module may import its own layer and those below, never above. */
export const LAYERS: { name: string; folders: string[]; owns: string }[] = [
  {
    name: "foundation",
    folders: ["errors", "config", "services_type.ts"],
    owns: "error types, configuration keys and parsing; the Services type (types only: it names what " +
      "services.ts opens, so it may name types of any layer, and any layer may name it)",
  },
  {
    name: "infrastructure",
    folders: ["db", "http", "queue", "log", "auth"],
    owns: "the database and its migrations, the guarded outbound HTTP client, the queues, the log, accounts",
  },
  {
    name: "domain",
    folders: ["catalog", "harvest", "harvesters", "plugins"],
    owns: "the catalog the harvest writes into; the harvest core (lifecycle, pipeline, state machines); harvesters",
  },
  {
    name: "application",
    folders: ["actions", "mail", "metrics"],
    owns: "the typed actions with their authorization rules; the mails and metrics that subscribe to hooks",
  },
  {
    name: "adapters",
    folders: ["api", "web", "cli", "demo", "services.ts"],
    owns: "HTTP API, web UI, CLI, demo; services.ts wires a process together",
  },
];

/** Each table and the one module that owns it: the only file whose SQL writes it. */
export const OWNERS: Record<string, string> = {
  schema_migration: "db/migrate.ts",
  data_change: "db/changes.ts",
  data_change_cutoff: "db/changes.ts",
  harvest_lock: "db/locks.ts",
  harvest_consumer: "db/consumers.ts",
  harvest_host_slot: "db/host_slots.ts",
  harvest_queue: "queue/postgres.ts",
  harvest_log: "log/mod.ts",
  user: "auth/users.ts",
  membership: "auth/users.ts",
  api_token: "auth/tokens.ts",
  login_throttle: "auth/throttle.ts",
  web_session: "auth/sessions.ts",
  group: "catalog/groups.ts",
  package: "catalog/package.ts",
  package_extra: "catalog/package.ts",
  package_tag: "catalog/package.ts",
  package_group: "catalog/package.ts",
  resource: "catalog/package.ts",
  harvest_source: "harvest/sources.ts",
  harvest_job: "harvest/jobs.ts",
  harvest_gather_error: "harvest/jobs.ts",
  harvest_object: "harvest/objects.ts",
  harvest_object_extra: "harvest/objects.ts",
  harvest_object_error: "harvest/objects.ts",
  harvest_pending_deletion: "harvest/deletions.ts",
  harvest_plan: "harvest/plans.ts",
  harvest_source_tally: "harvest/tallies.ts",
  catalog_tally: "catalog/tally.ts",
  harvest_job_tally: "harvest/tallies.ts",
  harvest_job_window: "harvest/window.ts",
};

/**
 * The only files with SQL: the owners, the catalog's read side (search compiles queries over the
 * package tables) and the harvest's report reads (harvest/reports.ts). A store may read another owner's table in a join (a query belongs to the table it
 * is about and may filter by others), but writes only its own.
 */
export const STORES = new Set(
  Object.values(OWNERS).concat(["catalog/query.ts", "catalog/names.ts", "catalog/mod.ts", "harvest/reports.ts"]),
);

export const MAX_LINES = 500;

export interface Report {
  files: Map<string, { lines: number; imports: { to: string; typeOnly: boolean }[] }>;
  circles: string[][];
  upward: string[];
  oversized: string[];
  sql: string[];
}

const SRC = new URL("../src/", import.meta.url);

async function* walk(dir: URL, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) yield* walk(new URL(entry.name + "/", dir), rel + "/");
    else if (/\.tsx?$/.test(entry.name) && !/_test\.tsx?$/.test(entry.name)) yield rel;
  }
}

function resolve(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const p of spec.split("/")) {
    if (p === "." || p === "") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return parts.join("/");
}

export function layerOf(file: string): number {
  const top = file.split("/")[0]!;
  return LAYERS.findIndex((l) => l.folders.includes(top));
}

/** The tables SQL inside template literals (tagged `sql`, `tx`, ... or passed to `unsafe`) names, and those it writes. */
function tablesIn(text: string): { read: Set<string>; written: Set<string> } {
  const read = new Set<string>();
  const written = new Set<string>();
  const re = /\b(FROM|JOIN|INTO|UPDATE|TABLE|DELETE FROM)\s+(?:ONLY\s+)?("?[a-z_]+"?)/g;
  for (const block of text.matchAll(/(?:\b(?:sql|tx|t|q|db)\s*(?:<[^`]*?>)?\s*`|unsafe\(\s*`)([\s\S]*?)`/g)) {
    for (const m of block[1]!.matchAll(re)) {
      const name = m[2]!.replaceAll('"', "");
      if (!(name in OWNERS)) continue;
      read.add(name);
      if (m[1] !== "FROM" && m[1] !== "JOIN") written.add(name);
    }
  }
  return { read, written };
}

/** Measures the tree under `root` (default: this repository's `src/`). */
export async function measure(root: URL = SRC): Promise<Report> {
  const files: Report["files"] = new Map();
  const sqlProblems: string[] = [];
  for await (const file of walk(root)) {
    const text = await Deno.readTextFile(new URL(file, root));
    const imports: { to: string; typeOnly: boolean }[] = [];
    for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+"(\.[^"]+)"/gms)) {
      imports.push({ to: resolve(file, m[3]!), typeOnly: Boolean(m[2]) });
    }
    for (const m of text.matchAll(/import\(\s*"(\.[^"]+)"\s*\)/g)) {
      imports.push({ to: resolve(file, m[1]!), typeOnly: false });
    }
    files.set(file, { lines: text.split("\n").length, imports });
    const { read, written } = tablesIn(text);
    for (const table of read) {
      const owner = OWNERS[table]!;
      if (file === owner) continue;
      if (!STORES.has(file)) sqlProblems.push(`${file} issues SQL on ${table} (owned by ${owner})`);
      else if (written.has(table)) sqlProblems.push(`${file} writes ${table} (owned by ${owner})`);
    }
  }
  // Circles: Tarjan's strongly connected components over every import, type-only ones included.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const circles: string[][] = [];
  let n = 0;
  const visit = (v: string) => {
    index.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const { to } of files.get(v)?.imports ?? []) {
      if (!files.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(v, Math.min(low.get(v)!, low.get(to)!));
      } else if (on.has(to)) low.set(v, Math.min(low.get(v)!, index.get(to)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) circles.push(scc.sort());
    }
  };
  for (const f of files.keys()) if (!index.has(f)) visit(f);
  const upward: string[] = [];
  for (const [file, { imports }] of files) {
    const from = layerOf(file);
    for (const { to, typeOnly } of imports) {
      // The Services type names what services.ts opens: type-only imports to and from it are no dependency.
      if (typeOnly && (to === "services_type.ts" || file === "services_type.ts")) continue;
      const target = layerOf(to);
      if (target > from) upward.push(`${file} (${LAYERS[from]?.name}) imports ${to} (${LAYERS[target]?.name})`);
    }
  }
  const oversized = [...files].filter(([, f]) => f.lines > MAX_LINES).map(([name, f]) => `${name}: ${f.lines} lines`);
  // The types-only module must stay types only, or the exemption above would hide real dependencies.
  for (const { to, typeOnly } of files.get("services_type.ts")?.imports ?? []) {
    if (!typeOnly) upward.push(`services_type.ts imports ${to} for more than its types`);
  }
  return { files, circles, upward, oversized, sql: sqlProblems };
}

if (import.meta.main) {
  const r = await measure();
  const unplaced = [...r.files.keys()].filter((f) => layerOf(f) < 0);
  console.log(`${r.files.size} source files under src/ (tests excluded)`);
  for (const [i, l] of LAYERS.entries()) console.log(`layer ${i} ${l.name}: ${l.folders.join(", ")}`);
  console.log(`import circles: ${r.circles.length}`);
  for (const c of r.circles) console.log(`  ${c.join(" <-> ")}`);
  console.log(`imports up a layer: ${r.upward.length}`);
  for (const u of r.upward) console.log(`  ${u}`);
  console.log(`files over ${MAX_LINES} lines: ${r.oversized.length}`);
  for (const o of r.oversized) console.log(`  ${o}`);
  console.log(`SQL outside its owner: ${r.sql.length}`);
  for (const s of r.sql) console.log(`  ${s}`);
  if (unplaced.length) console.log(`files in no layer: ${unplaced.join(", ")}`);
}
