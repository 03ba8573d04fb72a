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
 * Both go through a tunnel run by this process on loopback: `https:` as an HTTP CONNECT proxy, `http:`
 * as a SOCKS5 proxy (so requests reach the server in origin form, `GET /path`, as every server reads
 * them; through an HTTP proxy or a raw socket they would be in absolute form, `GET http://host/path`,
 * which many servers, Python's http.server among them, answer 404). The client asks the tunnel for
 * `host:port` with a per-pin random credential, and the tunnel connects to the address pinned under
 * that credential only (a request without a known credential, or for another host, is refused), so
 * TLS runs end to end.
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
    const tunnel = await this.#startTunnel();
    const token = crypto.randomUUID().replaceAll("-", "");
    this.#pins.set(token, { host: url.hostname.toLowerCase().replace(/^\[|\]$/g, ""), port, address });
    this.#tokenOf.set(key, token);
    if (url.protocol === "http:") {
      client = Deno.createHttpClient({
        proxy: {
          transport: "socks5",
          url: `socks5h://127.0.0.1:${tunnel.port}`,
          basicAuth: { username: token, password: "pinned" },
        },
      });
    } else {
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

  /** Connects a client of the tunnel to its pinned address, then pipes the two. */
  #pipe(socket: Socket, pin: Pin, rest: Buffer, ok: Buffer | string, failed: Buffer | string): void {
    const upstream = connect({ host: pin.address, port: pin.port }, () => {
      socket.write(ok);
      if (rest.length) upstream.write(rest);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    this.#sockets.add(upstream);
    upstream.on("close", () => this.#sockets.delete(upstream));
    upstream.on("error", () => {
      if (!socket.destroyed) socket.end(failed);
      socket.destroy();
    });
    socket.on("close", () => upstream.destroy());
  }

  /**
   * SOCKS5 (RFC 1928) with username authentication (RFC 1929), CONNECT only: the username is the pin's
   * credential, and the requested host and port must be the pinned ones.
   */
  #socks(socket: Socket, first: Buffer): void {
    let buffer = first;
    let stage: "greeting" | "auth" | "request" = "greeting";
    let pin: Pin | undefined;
    const refuse = (reply: number[]) => {
      socket.end(Buffer.from(reply));
    };
    const onData = (chunk?: Buffer) => {
      if (chunk) buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > 1024) return socket.destroy();
      if (stage === "greeting") {
        if (buffer.length < 2 || buffer.length < 2 + buffer[1]!) return;
        const methods = buffer.subarray(2, 2 + buffer[1]!);
        buffer = buffer.subarray(2 + buffer[1]!);
        if (!methods.includes(0x02)) return refuse([0x05, 0xff]);
        socket.write(Buffer.from([0x05, 0x02]));
        stage = "auth";
      }
      if (stage === "auth") {
        if (buffer.length < 2) return;
        const ulen = buffer[1]!;
        if (buffer.length < 3 + ulen || buffer.length < 3 + ulen + buffer[2 + ulen]!) return;
        const token = buffer.subarray(2, 2 + ulen).toString("latin1");
        buffer = buffer.subarray(3 + ulen + buffer[2 + ulen]!);
        pin = this.#pins.get(token);
        if (!pin) return refuse([0x01, 0x01]);
        socket.write(Buffer.from([0x01, 0x00]));
        stage = "request";
      }
      if (buffer.length < 5) return;
      const atyp = buffer[3]!;
      const addrLength = atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : atyp === 0x03 ? 1 + buffer[4]! : -1;
      if (addrLength < 0) return refuse([0x05, 0x08, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
      if (buffer.length < 4 + addrLength + 2) return;
      socket.removeListener("data", onData);
      const raw = buffer.subarray(4, 4 + addrLength);
      const host = atyp === 0x03
        ? raw.subarray(1).toString("latin1").toLowerCase()
        : atyp === 0x01
        ? [...raw].join(".")
        : [...Array(8).keys()].map((i) => raw.readUInt16BE(i * 2).toString(16)).join(":");
      const port = buffer.readUInt16BE(4 + addrLength);
      const rest = buffer.subarray(4 + addrLength + 2);
      const sameHost = host === pin!.host || (atyp !== 0x03 && host === pin!.address);
      if (buffer[1] !== 0x01 || !sameHost || port !== pin!.port) {
        return refuse([0x05, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
      }
      this.#pipe(
        socket,
        pin!,
        rest,
        Buffer.from([0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]),
        Buffer.from([0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0]),
      );
    };
    socket.on("data", onData);
    onData();
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      if (head.length === 0 && chunk[0] === 0x05) {
        socket.removeListener("data", onData);
        return this.#socks(socket, chunk);
      }
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
      this.#pipe(
        socket,
        pin,
        rest,
        "HTTP/1.1 200 Connection Established\r\n\r\n",
        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
      );
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
