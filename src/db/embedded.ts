import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketHandler } from "@electric-sql/pglite-socket";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { SessionQueue } from "./session_queue.ts";

/** How this process reaches the embedded database. */
export interface EmbeddedConnection {
  url: string;
  /** True when this process opened the database files and serves them to others. */
  holder: boolean;
  /** The process id of the holder. */
  pid: number;
  close(): Promise<void>;
}

interface HolderInfo {
  pid: number;
  port: number;
}

const HOLDER_FILE = "holder.json";
const LOCK_FILE = "holder.lock";

function isAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as T;
  } catch {
    return undefined;
  }
}

function urlFor(port: number): string {
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

/**
 * Opens the embedded PGlite database under `dataDir`, or, when another process already holds it,
 * connects to that process's loopback socket instead of opening the files a second time.
 */
export async function openEmbedded(dataDir: string): Promise<EmbeddedConnection> {
  Deno.mkdirSync(dataDir, { recursive: true });
  const holderPath = join(dataDir, HOLDER_FILE);
  const lockPath = join(dataDir, LOCK_FILE);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const info = readJson<HolderInfo>(holderPath);
    if (info && info.pid !== Deno.pid && isAlive(info.pid) && await canConnect(info.port)) {
      return { url: urlFor(info.port), holder: false, pid: info.pid, close: () => Promise.resolve() };
    }
    let lock: Deno.FsFile | undefined;
    try {
      lock = Deno.openSync(lockPath, { write: true, createNew: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const lockPid = Number(Deno.readTextFileSync(lockPath).trim());
      if (!lockPid || !isAlive(lockPid) || lockPid === Deno.pid) {
        // A holder that died without cleaning up: its files are free again.
        Deno.removeSync(lockPath);
      } else {
        await new Promise((r) => setTimeout(r, 100));
      }
      continue;
    }
    lock.writeSync(new TextEncoder().encode(String(Deno.pid)));
    lock.close();
    try {
      return await startHolder(dataDir, holderPath, lockPath);
    } catch (error) {
      Deno.removeSync(lockPath);
      throw error;
    }
  }
  throw new Error(`Cannot open the embedded database in ${dataDir}: another process holds it but does not answer`);
}

async function startHolder(dataDir: string, holderPath: string, lockPath: string): Promise<EmbeddedConnection> {
  const db = await PGlite.create({ dataDir: join(dataDir, "pgdata") });
  const queue = new SessionQueue(db);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // The handler only needs the queue's duck type; pglite-socket does not export its own class.
    const handler = new PGLiteSocketHandler({ queryQueue: queue as never, closeOnDetach: true });
    handler.attach(socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  Deno.writeTextFileSync(holderPath, JSON.stringify({ pid: Deno.pid, port } satisfies HolderInfo));
  let closed = false;
  return {
    url: urlFor(port),
    holder: true,
    pid: Deno.pid,
    async close() {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.close();
      for (const path of [holderPath, lockPath]) {
        try {
          Deno.removeSync(path);
        } catch { /* already gone */ }
      }
    },
  };
}
