/**
 * The container health check: GETs a path of the local server (default `/healthz`) and exits 0 when
 * it answers 200, 1 otherwise. Needs only `--allow-net=127.0.0.1 --allow-env=PORT`.
 */
const path = Deno.args[0] ?? "/healthz";
const port = Deno.env.get("PORT") ?? "5000";
try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4000) });
  const body = await res.text();
  if (!res.ok) console.error(`${path}: HTTP ${res.status} ${body}`);
  Deno.exit(res.ok ? 0 : 1);
} catch (error) {
  console.error(`${path}: ${(error as Error).message}`);
  Deno.exit(1);
}
