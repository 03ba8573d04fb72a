/**
 * The actions: one function per operation, each with a zod input schema, an authorization rule and
 * the logic. The HTTP API, the CLI and the web UI are thin adapters over this registry.
 *
 * @module
 */
import { ANYONE } from "./access.ts";
import { z } from "zod";
import { NotFoundError } from "../errors/mod.ts";
import { type Action, type ActionContext, defineAction, runAction } from "./registry.ts";
import type { ActionOutputs } from "./shapes.ts";
import { sourceActions } from "./sources.ts";
import { jobActions } from "./jobs.ts";
import { catalogActions, catalogWriteActions } from "./catalog.ts";
import { userActions } from "./users.ts";
import { deletionActions } from "./deletions.ts";
import { lifecycleActions } from "./lifecycle.ts";
import { maintenanceActions } from "./maintenance.ts";
import { objectActions } from "./objects.ts";
import { harvestSourceSearch } from "./source_search.ts";
import { harvestSourceDetect } from "./detect.ts";
import { planActions } from "./plans.ts";
import { harvestSourceDatasets } from "./source_datasets.ts";

export { type ActionContext, type Actor, ANONYMOUS, runAction, SITE_ACTOR } from "./registry.ts";
export type { Action };
export { readableSource, showSourceAs } from "./sources.ts";

const helpShow = defineAction({
  name: "help_show",
  access: ANYONE,
  doc: "An action's documentation and who may call it, as CKAN's help_show.",
  auth: "anyone",
  sideEffectFree: true,
  input: z.object({ name: z.string({ error: "Missing value" }) }),
  run(_ctx, input) {
    const action = ACTIONS.get(input.name);
    if (!action) throw new NotFoundError(`Action not found: ${input.name}`);
    return Promise.resolve(`${action.doc}\n\nWho may call it: ${action.auth}.`);
  },
});

/** Every action by name. */
export const ACTIONS: ReadonlyMap<string, Action> = new Map(
  ([
    helpShow,
    ...sourceActions,
    harvestSourceSearch,
    harvestSourceDetect,
    harvestSourceDatasets,
    ...jobActions,
    ...lifecycleActions,
    ...planActions,
    ...maintenanceActions,
    ...objectActions,
    ...catalogActions,
    ...catalogWriteActions,
    ...userActions,
    ...deletionActions,
  ] as Action[]).map((a) => [a.name, a]),
);

/** The name of every action. */
export type ActionName = keyof ActionOutputs;
/** What an action returns, from its declared output schema (shapes.ts). */
export type ActionOutput<N extends ActionName> = z.output<ActionOutputs[N]>;

/**
 * Runs an action by name, typed by its declared output: the adapters' one way in. Every result
 * matches its schema (the matrix test checks each one against it), so the type is what arrives.
 */
export async function call<N extends ActionName>(
  ctx: ActionContext,
  name: N,
  input: Record<string, unknown>,
): Promise<ActionOutput<N>> {
  const action = ACTIONS.get(name);
  if (!action) throw new NotFoundError(`Action not found: ${name}`);
  return await runAction(action, ctx, input) as ActionOutput<N>;
}

/** Runs an action by name. */
export function getAction(name: string): Action | undefined {
  return ACTIONS.get(name);
}
