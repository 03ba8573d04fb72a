import { chaosHarvest } from "./chaos.ts";

/** A PostgreSQL cluster of this test's own, so restarting it disturbs no other test. */
async function ownCluster(): Promise<{ url: string; restart(): Promise<void> } & AsyncDisposable> {
  const bin = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name).sort().pop();
  const pg = (tool: string) => `/usr/lib/postgresql/${bin}/bin/${tool}`;
  const dir = Deno.makeTempDirSync({ prefix: "harvest-pg-" });
  const root = Deno.uid() === 0;
  if (root) await new Deno.Command("chown", { args: ["postgres", dir] }).output();
  const run = async (tool: string, args: string[]) => {
    const cmd = root ? "runuser" : pg(tool);
    const full = root ? ["-u", "postgres", "--", pg(tool), ...args] : args;
    const out = await new Deno.Command(cmd, { args: full, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) throw new Error(`${tool} failed: ${new TextDecoder().decode(out.stderr)}`);
  };
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await run("initdb", ["-D", `${dir}/data`, "-U", "postgres", "--auth=trust"]);
  const opts = `-p ${port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  await run("pg_ctl", ["-D", `${dir}/data`, "-l", `${dir}/log`, "-w", "-o", opts, "start"]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () => run("pg_ctl", ["-D", `${dir}/data`, "-l", `${dir}/log`, "-w", "-m", "fast", "-o", opts, "restart"]),
    async [Symbol.asyncDispose]() {
      await run("pg_ctl", ["-D", `${dir}/data`, "-w", "-m", "immediate", "stop"]).catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

Deno.test("a PostgreSQL restart in the middle of a job loses nothing (postgres queue)", async () => {
  await using cluster = await ownCluster();
  await chaosHarvest({
    databaseUrl: cluster.url,
    env: { CKAN__HARVEST__MQ__TYPE: "postgres" },
    datasets: 3000,
    kills: 1,
    disrupt: () => cluster.restart(),
  });
});
