import postgres from "postgres";
import { assert, assertEquals } from "./assert.ts";
import { testServices } from "./helpers.ts";
import { HostSlots } from "../src/db/host_slots.ts";

/** Forwards loopback connections on `port` to PostgreSQL while open: the database "coming back". */
function forwarder(port: number, target: URL) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    for await (const conn of listener) {
      const upstream = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
      conn.readable.pipeTo(upstream.writable).catch(() => {});
      upstream.readable.pipeTo(conn.writable).catch(() => {});
    }
  })().catch(() => {});
  return listener;
}

Deno.test("a request slot is waited for through a database that is away for a moment, not failed", async () => {
  await using services = await testServices();
  const target = new URL(services.config.databaseUrl!);
  // A free port where nothing listens yet: the slot's database refuses connections at first.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const away = new URL(target);
  away.port = String(port);
  const sql = postgres(away.toString(), { max: 1, onnotice: () => {}, connect_timeout: 2 });
  let listener: Deno.Listener | undefined;
  try {
    const started = performance.now();
    const back = setTimeout(() => listener = forwarder(port, target), 800);
    const release = await new HostSlots(sql, "test-holder").acquire("remote.example", 2);
    clearTimeout(back);
    assert(performance.now() - started >= 700, "the slot came once the database was back");
    const [held] = await services.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM harvest_host_slot WHERE holder = 'test-holder'`;
    assertEquals(held!.n, 1);
    await release();
  } finally {
    await sql.end({ timeout: 1 });
    listener?.close();
  }
});
