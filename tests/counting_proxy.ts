/**
 * A proxy in front of a remote catalog that counts the requests it is answering at once: what the
 * politeness tests and the multi-host harness's remote host read to see the per-host limit kept.
 */

export interface Seen {
  inFlight: number;
  most: number;
  total: number;
}

/** Serves on `hostname:port` (port 0: any free one), passing every request on to `upstream`. */
export function countingProxy(
  upstream: string,
  options: { hostname?: string; port?: number; onListen?: () => void } = {},
) {
  const seen: Seen = { inFlight: 0, most: 0, total: 0 };
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen: options.onListen ?? (() => {}),
  }, async (req) => {
    seen.inFlight++;
    seen.total++;
    seen.most = Math.max(seen.most, seen.inFlight);
    try {
      const url = new URL(req.url);
      const res = await fetch(`${upstream}${url.pathname}${url.search}`);
      return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
    } finally {
      seen.inFlight--;
    }
  });
  return { server, seen, url: `http://${options.hostname ?? "127.0.0.1"}:${server.addr.port}` };
}
