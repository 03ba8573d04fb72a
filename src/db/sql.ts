/** The SQL handles every storage module takes: a postgres.js connection, a transaction, or either. */
import type postgres from "postgres";

// deno-lint-ignore ban-types
export type Sql = postgres.Sql<{}>;
export type Tx = postgres.TransactionSql;
export type Queryable = Sql | Tx;
