import type { Sql } from "./sql.ts";

const MIGRATIONS_DIR = new URL("../../migrations/", import.meta.url);

interface Migration {
  version: string;
  sql: string;
}

function listMigrations(): Migration[] {
  const files = [...Deno.readDirSync(MIGRATIONS_DIR)]
    .filter((e) => e.isFile && /^\d{4}_.+\.sql$/.test(e.name))
    .map((e) => e.name)
    .sort();
  return files.map((name) => ({
    version: name.replace(/\.sql$/, ""),
    sql: Deno.readTextFileSync(new URL(name, MIGRATIONS_DIR)),
  }));
}

async function ensureTable(sql: Sql): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migration (
    version text PRIMARY KEY,
    applied timestamptz NOT NULL DEFAULT now()
  )`;
}

/** The versions not yet applied, oldest first. */
export async function pendingMigrations(sql: Sql): Promise<string[]> {
  await ensureTable(sql);
  const done = new Set((await sql<{ version: string }[]>`SELECT version FROM schema_migration`).map((r) => r.version));
  return listMigrations().filter((m) => !done.has(m.version)).map((m) => m.version);
}

/**
 * Applies every migration not yet applied, each in its own transaction, under an advisory lock so
 * processes starting together do not race. Returns the versions applied (empty when up to date).
 */
export async function migrate(sql: Sql): Promise<string[]> {
  await ensureTable(sql);
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(727274)`;
    const done = new Set(
      (await tx<{ version: string }[]>`SELECT version FROM schema_migration`).map((r) => r.version),
    );
    for (const m of listMigrations()) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migration (version) VALUES (${m.version})`;
      applied.push(m.version);
    }
  });
  return applied;
}
