/**
 * What the benchmarks share: the real CLI in a subprocess with its peak RSS read from /proc, and a
 * scratch database on the benchmark's PostgreSQL.
 */
import postgres from "postgres";
import { taskCommand } from "../tests/task_flags.ts";

const ROOT = new URL("../", import.meta.url).pathname;

export interface Run {
  /** Wall time of the subprocess. */
  seconds: number;
  peakRssMb: number;
  /** stdout and stderr. */
  output: string;
}

/**
 * Runs `cli.ts` with the `harvester` task's flags (its heap cap replaced by `v8Flags` when given),
 * sampling VmHWM every 100 ms; throws on failure.
 */
export async function runCli(cliArgs: string[], env: Record<string, string>, v8Flags?: string) {
  const started = performance.now();
  const task = taskCommand("harvester");
  const flags = v8Flags === undefined
    ? task.flags
    : [...task.flags.filter((f) => !f.startsWith("--v8-flags=")), ...(v8Flags ? [`--v8-flags=${v8Flags}`] : [])];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `${ROOT}${task.script}`, ...cliArgs],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      peak = Math.max(peak, Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0));
    } catch { /* exited */ }
  }, 100);
  const out = await child.output();
  clearInterval(poll);
  const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`harvester ${cliArgs.join(" ")} failed: ${output}`);
  return { seconds: (performance.now() - started) / 1000, peakRssMb: peak / 1024, output } satisfies Run;
}

/** A new database on BENCH_DATABASE_URL (else TEST_DATABASE_URL), dropped by `drop()`. */
export async function freshPostgres(prefix = "harvest_bench"): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = Deno.env.get("BENCH_DATABASE_URL") ?? Deno.env.get("TEST_DATABASE_URL");
  if (!admin) throw new Error('Set BENCH_DATABASE_URL or run `eval "$(bash scripts/test_services.sh)"` first');
  const name = `${prefix}_${Date.now()}`;
  const sql = postgres(admin, { max: 1, onnotice: () => {} });
  await sql.unsafe(`CREATE DATABASE ${name}`);
  await sql.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(admin, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
