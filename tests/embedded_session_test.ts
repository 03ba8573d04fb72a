/**
 * The embedded database shares PGlite's one session between connections (`SessionQueue`). A statement
 * postgres.js has not prepared goes out as Parse, Describe and Flush, and its Bind only after the
 * description comes back: another connection's statement in between must not replace it. A
 * 20,000-dataset harvest on the embedded default died of exactly that ("unnamed prepared statement
 * does not exist").
 */
import { assertEquals } from "./assert.ts";
import { tempDir } from "./helpers.ts";
import { loadConfig } from "../src/config/mod.ts";
import { openDatabase } from "../src/db/mod.ts";

Deno.test("embedded: unprepared statements with parameters on several connections at once each get their own answer", async () => {
  using dir = tempDir();
  const db = await openDatabase(loadConfig({ env: { HARVEST_DATA_DIR: dir.path } }), { max: 4 });
  try {
    const errors: string[] = [];
    // Three callers, each its own statement text, all unprepared (`unsafe` with parameters).
    const caller = async (k: number) => {
      for (let i = 0; i < 150; i++) {
        try {
          const [row] = await db.sql.unsafe(`SELECT $1::int * ${k + 2} + $2::int AS n, ${k} AS caller`, [i, k]);
          if (row!.n !== i * (k + 2) + k || row!.caller !== k) errors.push(`caller ${k} got ${JSON.stringify(row)}`);
        } catch (error) {
          errors.push(`caller ${k}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all([0, 1, 2].map(caller));
    assertEquals(errors.slice(0, 3), []);
  } finally {
    await db.close();
  }
});
