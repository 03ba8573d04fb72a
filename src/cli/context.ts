import { ConfigError, loadConfig } from "../config/mod.ts";
import { type ActionContext, type ActionName, type ActionOutput, call, SITE_ACTOR } from "../actions/mod.ts";
import { openServices, type Services } from "../services.ts";
import { pendingMigrations } from "../db/mod.ts";
import {
  AuthorizationError,
  messageOf,
  NotFoundError,
  RemoteError,
  UnavailableError,
  ValidationError,
} from "../errors/mod.ts";
import { setupLogging } from "../log/mod.ts";

/** Options every command accepts. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

/** An error already phrased for the operator; the CLI prints it as one line and exits non-zero. */
export class CliError extends Error {
  override name = "CliError";
}

/** Writes to stdout (data) and stderr (diagnostics); tests read both from a real process. */
export const out = (line = "") => console.log(line);
export const note = (line: string) => console.error(line);

/** Opens the services the config names, telling the operator when another process holds the database. */
export async function withServices<T>(
  options: GlobalOptions,
  fn: (ctx: ActionContext) => Promise<T>,
  open: { migrate?: boolean; maxConnections?: number; longRunning?: boolean } = {},
): Promise<T> {
  const config = loadConfig({ file: options.config, env: Deno.env.toObject() });
  await setupLogging({
    level: Deno.env.get("HARVEST_LOG_LEVEL"),
    format: Deno.env.get("HARVEST_LOG_FORMAT"),
    fallback: open.longRunning ? "info" : "warning",
  });
  const services: Services = await openServices(config, { maxConnections: open.maxConnections });
  try {
    if (services.db.mode === "embedded-client") note(`Using the ${services.db.description}`);
    if (!open.migrate) {
      const pending = await pendingMigrations(services.sql);
      if (pending.length > 0) {
        throw new CliError(
          `The database schema is not up to date (${pending.length} migration(s) pending): run \`harvester db upgrade\``,
        );
      }
    }
    return await fn({ services, actor: SITE_ACTOR });
  } finally {
    await services.close();
  }
}

/** Runs an action as the site, typed by its declared output. */
export function act<N extends ActionName>(
  ctx: ActionContext,
  name: N,
  input: Record<string, unknown>,
): Promise<ActionOutput<N>> {
  return call(ctx, name, input);
}

/** One line for any error a command can end with. */
export function describeError(error: unknown): string {
  if (error instanceof ValidationError) {
    return Object.entries(error.fields).map(([field, messages]) => `${field}: ${messages.join("; ")}`).join("\n");
  }
  if (
    error instanceof CliError || error instanceof ConfigError || error instanceof NotFoundError ||
    error instanceof AuthorizationError || error instanceof RemoteError || error instanceof UnavailableError
  ) return error.message;
  const message = messageOf(error);
  if (/ECONNREFUSED|Connection refused|connect_timeout|CONNECT_TIMEOUT|ENOTFOUND|EAI_AGAIN/i.test(message)) {
    const e = error as { address?: string; port?: number };
    const at = e?.address ? ` at ${e.address}${e.port ? `:${e.port}` : ""}` : "";
    return `Cannot reach the database${at}: ${message}; check DATABASE_URL (and ckan.harvest.connect_timeout)`;
  }
  return message;
}

/** Waits for `promise` at most `ms`; the shutdown steps are bounded so the whole stop fits the grace period. */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

/** Seconds a process has, after SIGTERM or SIGINT, to finish the work in hand before it exits anyway. */
export const STOP_GRACE_SECONDS = 8;

/**
 * An AbortSignal that aborts on SIGINT or SIGTERM, for long-running processes' graceful shutdown. Work
 * in hand gets {@link STOP_GRACE_SECONDS} to finish (a message left unacknowledged is delivered again,
 * so nothing is lost); past that, or at a second signal, the process exits at once, whatever it waits
 * on (a broker that does not answer, a statement that does not end).
 */
export function shutdownSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) {
      note("Stopping now");
      Deno.exit(130);
    }
    note("Stopping: finishing the work in hand");
    controller.abort();
    const timer = setTimeout(() => {
      note(`Did not stop within ${STOP_GRACE_SECONDS} s: exiting; unfinished work is delivered again`);
      Deno.exit(1);
    }, STOP_GRACE_SECONDS * 1000);
    Deno.unrefTimer(timer);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return controller.signal;
}
