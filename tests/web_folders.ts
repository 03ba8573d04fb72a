/**
 * Real directory listings for the WAF tests: nginx with `autoindex` (Debian's nginx, which dates
 * every file) and Python's `http.server` (which lists without dates and answers conditional GETs
 * with 304), each serving a temporary folder on loopback.
 */

export interface Folder extends AsyncDisposable {
  url: string;
  root: string;
  /** The request lines the server logged: `GET /path STATUS`. */
  requests(): Promise<string[]>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitFor(url: string) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url);
      await r.body?.cancel();
      if (r.ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** nginx serving `root` with autoindex (dates to the minute, as nginx writes them). */
export async function nginxFolder(root: string): Promise<Folder> {
  const dir = Deno.makeTempDirSync({ prefix: "nginx-" });
  const port = freePort();
  const log = `${dir}/access.log`;
  Deno.writeTextFileSync(
    `${dir}/nginx.conf`,
    `${Deno.uid?.() === 0 ? "user root;\n" : ""}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log ${log} combined;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { autoindex on; }
  }
}
`,
  );
  const proc = new Deno.Command("nginx", {
    args: ["-c", `${dir}/nginx.conf`, "-p", dir, "-g", "daemon off;"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(url);
  return {
    url,
    root,
    async requests() {
      const text = await Deno.readTextFile(log).catch(() => "");
      return text.split("\n").filter(Boolean).map((l) => {
        const m = l.match(/"(\w+) (\S+) [^"]*" (\d{3})/);
        return m ? `${m[1]} ${m[2]} ${m[3]}` : l;
      });
    },
    async [Symbol.asyncDispose]() {
      proc.kill("SIGTERM");
      await proc.stderr.cancel();
      await proc.status;
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** Python's http.server serving `root`: listings without dates; 304 to If-Modified-Since. */
export async function pythonFolder(root: string): Promise<Folder> {
  const port = freePort();
  const proc = new Deno.Command("python3", {
    args: ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", root],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    const decoder = new TextDecoderStream();
    let buffer = "";
    for await (const chunk of proc.stderr.pipeThrough(decoder)) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const l of parts) {
        const m = l.match(/"(\w+) (\S+) [^"]*" (\d{3})/);
        if (m) lines.push(`${m[1]} ${m[2]} ${m[3]}`);
      }
    }
  })();
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(url);
  return {
    url,
    root,
    requests: () => Promise.resolve([...lines]),
    async [Symbol.asyncDispose]() {
      proc.kill("SIGTERM");
      await proc.status;
      await reading.catch(() => {});
    },
  };
}
