/**
 * The actions: one function per operation, each with a zod input schema, an authorization rule and
 * the logic. The HTTP API, the CLI and the web UI are thin adapters over this registry.
 *
 * @module
 */
import type { Action } from "./registry.ts";
import { sourceActions } from "./sources.ts";
import { jobActions } from "./jobs.ts";
import { catalogActions, catalogWriteActions } from "./catalog.ts";
import { userActions } from "./users.ts";
import { deletionActions } from "./deletions.ts";
import { lifecycleActions } from "./lifecycle.ts";

export { type ActionContext, type Actor, ANONYMOUS, runAction, SITE_ACTOR } from "./registry.ts";
export type { Action };
export { createJob, JOB_EXISTS, sendToGatherQueue } from "./jobs.ts";
export { readableSource, showSourceAs } from "./sources.ts";

/** Every action by name. */
export const ACTIONS: ReadonlyMap<string, Action> = new Map(
  ([
    ...sourceActions,
    ...jobActions,
    ...lifecycleActions,
    ...catalogActions,
    ...catalogWriteActions,
    ...userActions,
    ...deletionActions,
  ] as Action[]).map((a) => [a.name, a]),
);

/** Runs an action by name. */
export function getAction(name: string): Action | undefined {
  return ACTIONS.get(name);
}
