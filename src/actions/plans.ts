/**
 * Preview, then apply: `harvest_source_plan` makes a dry run of a source and stores it,
 * `harvest_plan_show` and `harvest_plan_list` read previews, `harvest_plan_apply` turns one into a job
 * that writes exactly what it showed, or refuses when the remote changed since (src/harvest/plan.ts).
 *
 * @module
 */
import { z } from "zod";
import { NotFoundError } from "../errors/mod.ts";
import { planDict, planSource } from "../harvest/plan.ts";
import { applyPlan } from "../harvest/apply.ts";
import { getPlan, plansOfSource } from "../harvest/plans.ts";
import { EDITORS } from "./access.ts";
import { type ActionContext, defineAction, zId } from "./registry.ts";
import { editableSource } from "./sources.ts";

const maxAge = (ctx: ActionContext) => ctx.services.config.values["ckan.harvest.plan.max_age_hours"];

async function planForEditor(ctx: ActionContext, id: string, what: string) {
  const plan = await getPlan(ctx.services.sql, id);
  if (!plan) throw new NotFoundError(`Preview not found: ${id}`);
  await editableSource(ctx, plan.source_id, what);
  return plan;
}

export const harvestSourcePlan = defineAction({
  name: "harvest_source_plan",
  access: EDITORS,
  doc: "Previews a harvest of a source (`harvester plan`): gathers and fetches from the remote as a job would, " +
    "imports into a transaction that is rolled back, and stores what a job would do: counts of records to add, " +
    "update, leave, withdraw and fail, the deletions the guard would hold, and each record to add, update, withdraw " +
    "or fail, updates with their field-level diff. Nothing in the catalog changes. Apply it with harvest_plan_apply " +
    "within ckan.harvest.plan.max_age_hours. A source keeps its last 10 previews.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: false,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const source = await editableSource(ctx, input.id, "preview harvests");
    return planDict(await planSource(ctx.services, source, ctx.actor.id ?? null), maxAge(ctx));
  },
});

export const harvestPlanShow = defineAction({
  name: "harvest_plan_show",
  access: EDITORS,
  doc: "A stored preview, with its items (see harvest_source_plan), when it expires and the job that applied it.",
  auth: "editor or admin of the preview's source's organization",
  sideEffectFree: true,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    return planDict(await planForEditor(ctx, input.id, "see previews"), maxAge(ctx));
  },
});

export const harvestPlanList = defineAction({
  name: "harvest_plan_list",
  access: EDITORS,
  doc: "A source's stored previews, newest first, without their items.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: true,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const source = await editableSource(ctx, input.id, "see previews");
    const rows = await plansOfSource(ctx.services.sql, source.id);
    return rows.map((row) => {
      const { items: _items, ...rest } = planDict({ ...row, items: [] }, maxAge(ctx));
      return rest;
    });
  },
});

export const harvestPlanApply = defineAction({
  name: "harvest_plan_apply",
  access: EDITORS,
  doc: "Applies a preview (`harvester apply`): makes a fresh dry run and, when it would do exactly what the preview " +
    "showed, runs a job in this process that writes what that run fetched (nothing is fetched twice), answering " +
    "{plan_id, job: {jobId, stats, gatherErrors, objectErrors, seconds, status}}. Refused, with nothing written, " +
    "when the preview was applied already, is older than ckan.harvest.plan.max_age_hours, or the remote or the local " +
    "datasets changed since: then the fresh run is stored as a new preview, named in the message. Refused while the " +
    "source has a Running job.",
  auth: "editor or admin of the preview's source's organization",
  sideEffectFree: false,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    await planForEditor(ctx, input.id, "apply previews");
    return await applyPlan(ctx, input.id, ctx.actor.id ?? null);
  },
});

export const planActions = [harvestSourcePlan, harvestPlanShow, harvestPlanList, harvestPlanApply];
