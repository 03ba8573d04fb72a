import { ConfigError, loadConfig } from "../config/mod.ts";
import { type ActionContext, runAction, SITE_ACTOR } from "../actions/mod.ts";
import { ACTIONS } from "../actions/mod.ts";
import { openServices, type Services } from "../services.ts";
import { pendingMigrations } from "../db/mod.ts";
import { AuthorizationError, messageOf, NotFoundError, RemoteError, ValidationError } from "../errors/mod.ts";
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

/** Runs an action as the site. */
export function act(ctx: ActionContext, name: string, input: Record<string, unknown>): Promise<unknown> {
  const action = ACTIONS.get(name);
  if (!action) throw new CliError(`Unknown action ${name}`);
  return runAction(action, ctx, input);
}

/** One line for any error a command can end with. */
export function describeError(error: unknown): string {
  if (error instanceof ValidationError) {
    return Object.entries(error.fields).map(([field, messages]) => `${field}: ${messages.join("; ")}`).join("\n");
  }
  if (
    error instanceof CliError || error instanceof ConfigError || error instanceof NotFoundError ||
    error instanceof AuthorizationError || error instanceof RemoteError
  ) return error.message;
  const message = messageOf(error);
  if (/ECONNREFUSED|Connection refused|connect_timeout|CONNECT_TIMEOUT/i.test(message)) {
    return `Cannot reach the database: ${message}`;
  }
  return message;
}

/** An AbortSignal that aborts on SIGINT or SIGTERM, for long-running commands' graceful shutdown. */
export function shutdownSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => {
    if (!controller.signal.aborted) note("Stopping: finishing the work in hand");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return controller.signal;
}
