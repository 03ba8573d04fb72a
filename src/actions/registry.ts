import { z } from "zod";
import type { Services } from "../services_type.ts";
import { AuthorizationError, ValidationError } from "../errors/mod.ts";

import type { Actor } from "../auth/actor.ts";
import type { AccessRule } from "./access.ts";
import type { Progress } from "../harvest/run.ts";

export { type Actor, ANONYMOUS, SITE_ACTOR } from "../auth/actor.ts";

export interface ActionContext {
  services: Services;
  actor: Actor;
  /** Told how a long action (`harvest_source_run_test`) is getting on, when the caller watches (the CLI). */
  onProgress?: (progress: Progress) => void;
}

/** One operation: its input schema, who may call it (in words, for docs), and its logic. */
export interface Action<I extends z.ZodType = z.ZodType> {
  name: string;
  doc: string;
  /** The authorization rule in words, with its fine print (help_show says it). */
  auth: string;
  /** Who may call it, as data (access.ts): the README table, the OpenAPI document and the matrix test read it. */
  access: AccessRule;
  /** True for read-only actions, which HTTP also serves on GET. */
  sideEffectFree: boolean;
  input: I;
  run(ctx: ActionContext, input: z.output<I>): Promise<unknown>;
}

export function defineAction<I extends z.ZodType>(action: Action<I>): Action<I> {
  return action;
}

/** Turns zod issues into CKAN's `{field: [messages]}` validation error. */
export function toValidationError(error: z.ZodError): ValidationError {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const field = issue.path.length ? issue.path.join(".") : "input";
    const missing = issue.code === "invalid_type" && issue.message.includes("received undefined");
    (fields[field] ??= []).push(missing ? "Missing value" : issue.message);
  }
  return new ValidationError(fields);
}

/** The path of the first string holding a NUL character, which PostgreSQL text cannot store. */
function nulPath(value: unknown, path: string): string | undefined {
  if (typeof value === "string") return value.includes("\u0000") ? path : undefined;
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes("\u0000")) return path || "input";
      const found = nulPath(v, path ? `${path}.${k}` : k);
      if (found) return found;
    }
  }
  return undefined;
}

/** Validates the input and runs an action. */
export async function runAction(action: Action, ctx: ActionContext, raw: unknown): Promise<unknown> {
  // A sysadmin-only action is refused before its input is even read: others learn nothing from
  // validation messages. Rules that depend on a record are applied by the action once it has found it.
  if (action.access.name === "sysadmin" && !ctx.actor.sysadmin) {
    throw new AuthorizationError(`User ${ctx.actor.name || "(anonymous)"} not authorized to call ${action.name}`);
  }
  const nul = nulPath(raw, "");
  if (nul) throw ValidationError.of(nul || "input", "Must not contain NUL (\\u0000) characters");
  const parsed = action.input.safeParse(raw ?? {});
  if (!parsed.success) throw toValidationError(parsed.error);
  return await action.run(ctx, parsed.data);
}

// Input helpers: HTTP GET parameters arrive as strings, JSON bodies typed.
export const zBool = z.union([z.boolean(), z.enum(["true", "false", "True", "False", "1", "0", "yes", "no"])])
  .transform((v) => v === true || ["true", "True", "1", "yes"].includes(v as string));
export const zInt = (min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.union([z.number(), z.string().regex(/^-?\d+$/, "must be an integer")]).transform(Number)
    .pipe(z.number().int().min(min).max(max));
export const zId = z.string({ error: "Missing value" }).trim().min(1, "Missing value");
