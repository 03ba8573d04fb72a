/** The SQL handles every storage module takes: a postgres.js connection, a transaction, or either. */
import type postgres from "postgres";

// deno-lint-ignore ban-types
export type Sql = postgres.Sql<{}>;
export type Tx = postgres.TransactionSql;
export type Queryable = Sql | Tx;

/**
 * Rows as one `json` parameter, for `json_to_recordset` (postgres.js's `json()` sends `jsonb`, which
 * PostgreSQL builds before the rows are read: a third slower for a lot's rows).
 */
export const jsonRows = (sql: Queryable, rows: unknown[]) => sql.typed(rows as never, 114);
