import { assert, assertEquals, assertMatch, assertRejects } from "../../tests/assert.ts";
import { HttpClient } from "./client.ts";

function server(handler: (req: Request, n: number) => Response | Promise<Response>) {
  let n = 0;
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => handler(req, ++n));
  return { url: `http://127.0.0.1:${s.addr.port}`, close: () => s.shutdown(), count: () => n };
}

const client = (over: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) =>
  new HttpClient({ userAgent: "test-agent/1", timeoutMs: 2000, maxBytes: 1000, maxBackoffMs: 3000, ...over });

Deno.test("HttpClient retries 429 and 5xx, honouring Retry-After, then succeeds", async () => {
  const s = server((_req, n) =>
    n === 1
      ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
      : n === 2
      ? new Response("oops", { status: 503 })
      : Response.json({ ok: true })
  );
  try {
    const started = performance.now();
    assertEquals(await client().getJson(s.url), { ok: true });
    assert(performance.now() - started >= 1000, "waited for Retry-After");
    assertEquals(s.count(), 3);
  } finally {
    await s.close();
  }
});

Deno.test("HttpClient turns every failure into one actionable message", async () => {
  const s = server((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/500") return new Response("x", { status: 500, statusText: "Internal Server Error" });
    if (path === "/404") return new Response("x", { status: 404, statusText: "Not Found" });
    if (path === "/big") return new Response("y".repeat(5000));
    if (path === "/html") return new Response("<html>");
    if (path === "/slow") return new Promise<Response>((r) => setTimeout(() => r(new Response("late")), 5000));
    return new Response("{}");
  });
  try {
    const c = client({ attempts: 2, maxBackoffMs: 10 });
    await assertRejects(() => c.getText(`${s.url}/500`), /^RemoteError: HTTP error: 500 Internal Server Error http:/);
    await assertRejects(() => c.getText(`${s.url}/404`), /HTTP error: 404 Not Found/);
    await assertRejects(() => c.getText(`${s.url}/big`), /Response too large: .* \(limit 1000\)|over 1000 bytes/);
    await assertRejects(
      () => c.getJson(`${s.url}/html`, { what: "remote CKAN" }),
      /Response from remote CKAN was not JSON/,
    );
    const started = performance.now();
    await assertRejects(() => c.getText(`${s.url}/slow`), /Request error: no answer within 2 s/);
    assert(performance.now() - started < 6000, "a slow server never hangs the caller");
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    await assertRejects(() => c.getText(`http://127.0.0.1:${port}/`), /Request error: connection refused/);
  } finally {
    await s.close();
  }
});

Deno.test("HttpClient sends its User-Agent and keeps at most perHostConcurrency requests in flight per host", async () => {
  let inFlight = 0;
  let peak = 0;
  const agents = new Set<string>();
  const s = server(async (req) => {
    agents.add(req.headers.get("user-agent") ?? "");
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setTimeout(r, 50));
    inFlight--;
    return new Response("ok");
  });
  try {
    const c = client({ perHostConcurrency: 3 });
    await Promise.all(Array.from({ length: 12 }, () => c.getText(s.url)));
    assertEquals(peak, 3);
    assertEquals([...agents], ["test-agent/1"]);
    const text = await c.getText(s.url, { headers: { "User-Agent": "override/2" } });
    assertEquals(text.text, "ok");
    assertMatch([...agents].join(","), /override\/2/);
  } finally {
    await s.close();
  }
});
