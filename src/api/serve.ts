import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import { createApp } from "./mod.ts";

const log = getLogger(["harvest", "server"]);

export interface RunningServer {
  url: string;
  shutdown(): Promise<void>;
}

/** Serves the HTTP app; refuses with a clear message when the port is taken. */
export function startServer(services: Services, options: { port: number; host: string }): RunningServer {
  const app = createApp(services);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ port: options.port, hostname: options.host, onListen: () => {} }, app.fetch);
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Error(`Cannot listen on ${options.host}:${options.port}: the port is in use; set PORT to another one`);
    }
    throw error;
  }
  const host = options.host === "0.0.0.0" ? "127.0.0.1" : options.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${server.addr.port}`;
  log.info("Listening on {url}", { url });
  return { url, shutdown: () => server.shutdown() };
}
