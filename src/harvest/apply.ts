/**
 * Applying a preview (`harvester apply`): a fresh dry run, compared with the stored preview by
 * fingerprint; when they agree, a job in this process writes what the fresh run fetched, through the
 * source's harvester with gather and fetch answered from that run.
 *
 * @module
 */
import type { Services } from "../services_type.ts";
import { NotFoundError, ValidationError } from "../errors/mod.ts";
import type { Harvester } from "./interface.ts";
import { getSource } from "./sources.ts";
import { getPlan, markApplied } from "./plans.ts";
import { type Progress, runJobInProcess, type RunSummary } from "./run.ts";
import { type DryRun, dryRun, type PlanItem, type PlanSummary, storePlan } from "./plan.ts";

/** The apply found the remote or the local catalog changed since the preview; a new preview is stored. */
export class PlanOutdatedError extends ValidationError {
  constructor(message: string, readonly newPlanId: string) {
    super({ id: [message] });
  }
}

/** The records whose planned action differs between two runs, described for the operator. */
function differences(before: PlanItem[], after: PlanItem[], summaryBefore: PlanSummary, summaryAfter: PlanSummary) {
  const a = new Map(before.map((i) => [i.guid, i]));
  const b = new Map(after.map((i) => [i.guid, i]));
  const out: string[] = [];
  for (const guid of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(guid);
    const y = b.get(guid);
    const was = x?.action ?? "leave";
    const now = y?.action ?? "leave";
    if (was !== now) out.push(`${guid}: planned ${was}, now ${now}`);
    else if (x?.hash !== y?.hash) out.push(`${guid}: ${now}, with other content`);
  }
  if (out.length === 0 && summaryBefore.gather_errors.join() !== summaryAfter.gather_errors.join()) {
    out.push("the gather errors differ");
  }
  if (out.length === 0) out.push("a dataset to update was edited locally since the preview");
  return out;
}

/**
 * Applies a preview: refuses one applied already or older than `ckan.harvest.plan.max_age_hours`;
 * runs a fresh dry run and refuses (storing it as a new preview) when it differs; else runs a job in
 * this process that writes exactly what the fresh run fetched.
 */
export async function applyPlan(
  ctx: { services: Services; onProgress?: (progress: Progress) => void },
  planId: string,
  creator: string | null,
): Promise<{ plan_id: string; job: RunSummary }> {
  const { services } = ctx;
  const { sql } = services;
  const plan = await getPlan(sql, planId);
  if (!plan) throw new NotFoundError(`Preview not found: ${planId}`);
  const source = await getSource(sql, plan.source_id);
  const maxAge = services.config.values["ckan.harvest.plan.max_age_hours"];
  if (plan.applied) {
    throw ValidationError.of("id", `This preview was applied already, by job ${plan.applied_job_id ?? "(trimmed)"}`);
  }
  const ageHours = (Date.now() - plan.created.getTime()) / 3_600_000;
  if (ageHours > maxAge) {
    throw ValidationError.of(
      "id",
      `This preview is ${Math.floor(ageHours)} hours old, older than ckan.harvest.plan.max_age_hours (${maxAge}); ` +
        `make a new one: harvester plan ${source.name}`,
    );
  }
  if (source.state !== "active") throw ValidationError.of("id", `Source ${source.name} is not active`);
  const fresh = await dryRun(services, source, true);
  if (fresh.fingerprint !== plan.fingerprint) {
    const stored = await storePlan(services, fresh, creator);
    const diff = differences(
      plan.items as PlanItem[],
      fresh.items,
      plan.summary as unknown as PlanSummary,
      fresh.summary,
    );
    const shown = diff.slice(0, 10).join("; ") + (diff.length > 10 ? `; and ${diff.length - 10} more` : "");
    throw new PlanOutdatedError(
      `The remote or the local catalog changed since this preview, so nothing was written: ${shown}. ` +
        `A new preview is stored: harvester plan-show ${stored.id}; apply it with: harvester apply ${stored.id}`,
      stored.id,
    );
  }
  const real = services.harvesters.get(source.type)!;
  const job = await runJobInProcess(ctx, source, { harvester: replay(real, fresh), onProgress: ctx.onProgress });
  await markApplied(sql, plan.id, job.jobId);
  return { plan_id: plan.id, job };
}

/** The source's harvester, with gather and fetch answered from a dry run instead of the remote. */
function replay(real: Harvester, run: DryRun): Harvester {
  return {
    info: () => real.info(),
    mappingVersion: real.mappingVersion && ((config) => real.mappingVersion!(config)),
    getOriginalUrl: real.getOriginalUrl && ((o, s) => real.getOriginalUrl!(o, s)),
    async *gather(ctx) {
      for (const [url, v] of run.validators) ctx.documents.remember(url, v);
      for (const message of run.savedErrors) await ctx.saveGatherError(message);
      for (const page of run.pages) yield page;
      // The replayed pages reach `max_records` again by themselves; a limit hit on a page that was
      // not kept, or the harvester's own failure, is repeated here.
      if (run.failure?.kind === "limit") await ctx.saveGatherError(run.failure.message);
      if (run.failure?.kind === "error") throw new Error(run.failure.message);
      if (run.listing) ctx.reportListing(run.listing);
    },
    async fetch(ctx) {
      const f = run.fetched.get(ctx.object.guid);
      if (!f) return true;
      for (const message of f.errors) await ctx.saveObjectError(message);
      return f.result;
    },
    import: (ctx) => real.import(ctx),
  };
}
