import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketHandler } from "@electric-sql/pglite-socket";
import postgres from "postgres";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { getLogger } from "@logtape/logtape";
import { SessionQueue } from "./session_queue.ts";
import { passwordGate } from "./password_gate.ts";
import { UnavailableError } from "../errors/mod.ts";

/** How this process reaches the embedded database. */
export interface EmbeddedConnection {
  /** A postgres:// URL with the socket's password; never print it. */
  url: string;
  /** True when this process opened the database files and serves them to others. */
  holder: boolean;
  /** The process id of the holder. */
  pid: number;
  /** `127.0.0.1:PORT` of the holder's socket, for messages. */
  address: string;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  /** How long to wait for a holder that has the lock but does not answer yet (ms). */
  waitMs?: number;
  /** A transaction left idle this long is rolled back and its client disconnected (ms). */
  idleInTransactionMs?: number;
  /** PostgreSQL's `shared_buffers` inside PGlite, in MB (`ckan.harvest.embedded.shared_buffers`). */
  sharedBuffersMb: number;
}

interface HolderInfo {
  pid: number;
  port: number;
}

const HOLDER_FILE = "holder.json";
const LOCK_FILE = "holder.lock";
const SECRET_FILE = "socket.secret";
const USER = "harvest";
const log = getLogger(["harvest", "db", "embedded"]);

/**
 * Opens the embedded PGlite database under `dataDir`, or, when another process holds it, connects
 * through that process's password-protected loopback socket. Exactly one process ever opens the files:
 * the holder keeps an exclusive operating-system lock on `holder.lock` for its whole life, which the
 * kernel releases when it dies however it dies, so no pid file or `/proc` probe is needed (both fail
 * under Deno's permissions, and a pid can be reused).
 */
export async function openEmbedded(dataDir: string, options: EmbeddedOptions): Promise<EmbeddedConnection> {
  Deno.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const waitMs = options.waitMs ?? 15_000;
  const deadline = Date.now() + waitMs;
  let warned = false;
  while (true) {
    const client = await connectToHolder(dataDir);
    if (client) return client;
    const lock = Deno.openSync(join(dataDir, LOCK_FILE), { read: true, write: true, create: true });
    let locked = false;
    try {
      locked = lock.tryLockSync(true);
    } catch (error) {
      lock.close();
      throw new Error(`Cannot lock the embedded database in ${dataDir}: ${(error as Error).message}`);
    }
    if (locked) {
      try {
        return await startHolder(dataDir, lock, options.idleInTransactionMs ?? 30_000, options.sharedBuffersMb);
      } catch (error) {
        lock.close(); // closing the file releases the lock
        throw error;
      }
    }
    lock.close();
    const info = readHolderInfo(dataDir);
    const who = info ? `process ${info.pid}` : "another process";
    if (Date.now() >= deadline) {
      throw new UnavailableError(
        `Cannot open the embedded database in ${dataDir}: ${who} holds it but its socket does not answer ` +
          `(waited ${Math.round(waitMs / 1000)} s); stop that process, or raise ckan.harvest.connect_timeout`,
      );
    }
    if (!warned) {
      warned = true;
      log.warning("The embedded database in {dataDir} is held by process {pid}, which does not answer yet: waiting", {
        dataDir,
        pid: info?.pid ?? "?",
      });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function readHolderInfo(dataDir: string): HolderInfo | undefined {
  try {
    const info = JSON.parse(Deno.readTextFileSync(join(dataDir, HOLDER_FILE)));
    return Number.isInteger(info?.pid) && Number.isInteger(info?.port) ? info : undefined;
  } catch {
    return undefined;
  }
}

function urlFor(port: number, secret: string): string {
  return `postgres://${USER}:${encodeURIComponent(secret)}@127.0.0.1:${port}/postgres`;
}

/** Connects to the holder named in `holder.json` when it answers with our password; else undefined. */
async function connectToHolder(dataDir: string): Promise<EmbeddedConnection | undefined> {
  const info = readHolderInfo(dataDir);
  if (!info) return undefined;
  let secret: string;
  try {
    secret = Deno.readTextFileSync(join(dataDir, SECRET_FILE)).trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read the embedded database's socket password in ${dataDir}: ${(error as Error).message}`);
  }
  const url = urlFor(info.port, secret);
  const probe = postgres(url, { max: 1, connect_timeout: 3, idle_timeout: 1, onnotice: () => {} });
  try {
    await probe`SELECT 1`;
  } catch {
    return undefined; // a stale file, a holder still starting, or one stopping
  } finally {
    await probe.end({ timeout: 1 }).catch(() => {});
  }
  return {
    url,
    holder: false,
    pid: info.pid,
    address: `127.0.0.1:${info.port}`,
    close: () => Promise.resolve(),
  };
}

function writePrivate(path: string, text: string): void {
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, text, { mode: 0o600 });
  Deno.chmodSync(tmp, 0o600);
  Deno.renameSync(tmp, path);
}

async function startHolder(
  dataDir: string,
  lock: Deno.FsFile,
  idleMs: number,
  sharedBuffersMb: number,
): Promise<EmbeddedConnection> {
  // PGlite's memory only grows: its buffer cache is much of what the engine adds to the process once
  // a harvest has touched its pages (at 32 MB instead of 128 a cold harvest of 20,000 peaked about
  // 100 MB lower, and ran about a tenth slower).
  const db = await PGlite.create({
    dataDir: join(dataDir, "pgdata"),
    startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${sharedBuffersMb}MB`],
  });
  const secret = Array.from(crypto.getRandomValues(new Uint8Array(24)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  const queue = new SessionQueue(db);
  const sockets = new Map<number, Socket>();
  const pending = new Set<Socket>();
  const server: Server = createServer(async (socket) => {
    pending.add(socket);
    socket.on("error", () => {});
    const first = await passwordGate(socket, secret);
    pending.delete(socket);
    if (!first || socket.destroyed) return;
    // The handler only needs the queue's duck type; pglite-socket does not export its own class.
    const handler = new PGLiteSocketHandler({ queryQueue: queue as never, closeOnDetach: true });
    sockets.set(handler.handlerId, socket);
    socket.on("close", () => sockets.delete(handler.handlerId));
    handler.attach(socket).catch(() => socket.destroy());
    socket.emit("data", first); // the startup message the gate held back
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  writePrivate(join(dataDir, SECRET_FILE), secret);
  writePrivate(join(dataDir, HOLDER_FILE), JSON.stringify({ pid: Deno.pid, port } satisfies HolderInfo));
  // A client that opened a transaction and then stopped talking (stopped, hung, or on a dead link the
  // kernel has not noticed) would block every other client: roll it back and drop its connection.
  const reaper = setInterval(() => {
    const id = queue.idleOwner(idleMs);
    if (id !== null) {
      log.warning("Dropped a client of the embedded database idle in a transaction for {seconds} s", {
        seconds: Math.round(idleMs / 1000),
      });
      sockets.get(id)?.destroy();
    }
  }, Math.min(1000, idleMs));
  let closed = false;
  return {
    url: urlFor(port, secret),
    holder: true,
    pid: Deno.pid,
    address: `127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(reaper);
      try {
        if (readHolderInfo(dataDir)?.pid === Deno.pid) Deno.removeSync(join(dataDir, HOLDER_FILE));
      } catch { /* already gone */ }
      for (const s of [...sockets.values(), ...pending]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // A statement still running inside PGlite finishes first; do not let it hold up the exit forever.
      await Promise.race([db.close(), new Promise((r) => setTimeout(r, 2_000))]);
      lock.close(); // releases the lock; the lock file itself stays, so its inode is the one everyone locks
    },
  };
}
