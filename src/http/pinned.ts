import { createServer, type Server, type Socket } from "node:net";
import { connect } from "node:net";
import { Buffer } from "node:buffer";

/** Pinned clients kept for reuse (their connection pools), oldest closed first. */
const MAX_CLIENTS = 64;

interface Pin {
  host: string;
  port: number;
  address: string;
}

/**
 * Deno HTTP clients that connect to an address the guard vetted instead of resolving the host again,
 * which closes DNS rebinding (a name that answers a public address to the check and a private one to
 * the connection). The URL, the `Host` header and TLS (SNI, certificate check) keep the host name.
 *
 * `http:` goes through a client whose transport is a TCP socket to the vetted address. `https:` goes
 * through a CONNECT tunnel run by this process on loopback: the client asks it for `host:port` with a
 * per-pin random credential, and the tunnel connects to the address pinned under that credential only
 * (a CONNECT without a known credential, or for another host, is refused), so TLS runs end to end.
 */
export class PinnedConnector {
  #clients = new Map<string, Deno.HttpClient>();
  #pins = new Map<string, Pin>();
  #tokenOf = new Map<string, string>();
  #tunnel: Promise<{ server: Server; port: number }> | undefined;
  #sockets = new Set<Socket>();
  #caCerts: string[] | undefined;

  constructor(options: { caCerts?: string[] } = {}) {
    this.#caCerts = options.caCerts;
  }

  /** The client that sends a request for `url` to `address`. */
  async client(url: URL, address: string): Promise<Deno.HttpClient> {
    const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
    const key = `${url.protocol}//${url.hostname}:${port}@${address}`;
    const cached = this.#clients.get(key);
    if (cached) {
      this.#clients.delete(key);
      this.#clients.set(key, cached); // most recently used last
      return cached;
    }
    let client: Deno.HttpClient;
    if (url.protocol === "http:") {
      client = Deno.createHttpClient({ proxy: { transport: "tcp", hostname: address, port } });
    } else {
      const tunnel = await this.#startTunnel();
      const token = crypto.randomUUID().replaceAll("-", "");
      this.#pins.set(token, { host: url.hostname.toLowerCase(), port, address });
      this.#tokenOf.set(key, token);
      client = Deno.createHttpClient({
        caCerts: this.#caCerts,
        proxy: {
          transport: "http",
          url: `http://127.0.0.1:${tunnel.port}`,
          basicAuth: { username: token, password: "" },
        },
      });
    }
    this.#clients.set(key, client);
    while (this.#clients.size > MAX_CLIENTS) {
      const [oldest, c] = this.#clients.entries().next().value!;
      this.#clients.delete(oldest);
      this.#pins.delete(this.#tokenOf.get(oldest) ?? "");
      this.#tokenOf.delete(oldest);
      c.close();
    }
    return client;
  }

  #startTunnel(): Promise<{ server: Server; port: number }> {
    this.#tunnel ??= new Promise((resolve, reject) => {
      const server = createServer((socket) => this.#serve(socket));
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port }));
      server.unref();
    });
    return this.#tunnel;
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > 8192) socket.destroy();
        return;
      }
      socket.removeListener("data", onData);
      const lines = head.subarray(0, end).toString("latin1").split("\r\n");
      const rest = head.subarray(end + 4);
      const [method, target] = lines[0]!.split(" ");
      const auth = lines.find((l) => /^proxy-authorization:/i.test(l))?.split(/\s+/)[2];
      const token = auth ? Buffer.from(auth, "base64").toString("latin1").split(":")[0]! : "";
      const pin = this.#pins.get(token);
      const colon = target?.lastIndexOf(":") ?? -1;
      const host = target?.slice(0, colon).replace(/^\[|\]$/g, "").toLowerCase();
      const port = Number(target?.slice(colon + 1));
      if (method !== "CONNECT" || !pin || pin.host !== host || pin.port !== port) {
        socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      const upstream = connect({ host: pin.address, port: pin.port }, () => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (rest.length) upstream.write(rest);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      this.#sockets.add(upstream);
      upstream.on("close", () => this.#sockets.delete(upstream));
      upstream.on("error", () => {
        if (!socket.destroyed) socket.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        socket.destroy();
      });
      socket.on("close", () => upstream.destroy());
    };
    socket.on("data", onData);
  }

  /** Closes every client and the tunnel. */
  async close(): Promise<void> {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
    this.#pins.clear();
    this.#tokenOf.clear();
    for (const s of this.#sockets) s.destroy();
    const tunnel = await this.#tunnel?.catch(() => undefined);
    this.#tunnel = undefined;
    if (tunnel) await new Promise<void>((resolve) => tunnel.server.close(() => resolve()));
  }
}
