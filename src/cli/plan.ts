/**
 * The CLI's preview commands: `plan SOURCE` shows what a harvest would change and stores it,
 * `plan-show PLAN` shows a stored preview again, `apply PLAN` writes it (or refuses when the remote
 * changed since).
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { act, CliError, type GlobalOptions, out, withServices } from "./context.ts";
import { progressDisplay, summaryLine } from "./progress.ts";
import { printJson } from "./print.ts";
import type { ActionOutputs } from "../actions/shapes.ts";
import type { z } from "zod";

type Plan = z.output<ActionOutputs["harvest_plan_show"]>;

/** Items shown per action; the rest are counted (`--json` has them all). */
const SHOWN = 100;

const value = (v: unknown) => Array.isArray(v) ? v.join(", ") : JSON.stringify(v ?? "");

/** A preview as the operator reads it: counts, then every change, updates with their field diffs. */
export function printPlan(plan: Plan): void {
  const c = plan.counts;
  out(
    `Preview ${plan.id} of ${plan.source_name}, made ${plan.created.slice(0, 19).replace("T", " ")} UTC in ` +
      `${plan.seconds} s${plan.applied_job_id ? `, applied by job ${plan.applied_job_id}` : ""}`,
  );
  out(`  ${c.add} to add, ${c.update} to update, ${c.leave} to leave, ${c.withdraw} to withdraw, ${c.error} to fail`);
  for (const e of plan.gather_errors) out(`  Gather error: ${e}`);
  if (plan.held_deletions) {
    out(`  ${plan.held_deletions.count} withdrawal(s) would be held for approval: ${plan.held_deletions.reason}`);
  }
  if (!plan.complete_listing) out("  The listing was not complete: nothing would be withdrawn");
  const shown: Record<string, number> = {};
  for (const item of plan.items) {
    shown[item.action] = (shown[item.action] ?? 0) + 1;
    if (shown[item.action]! > SHOWN) continue;
    const name = item.dataset ? ` (${item.dataset.name})` : "";
    if (item.action === "add") {
      out(`  + add      ${item.guid}${item.title ? `: ${item.title}` : ""}${item.name ? ` (${item.name})` : ""}`);
    } else if (item.action === "withdraw") out(`  - withdraw ${item.guid}${name}`);
    else if (item.action === "error") out(`  ! fail     ${item.guid}: ${(item.errors ?? []).join("; ")}`);
    else {
      out(`  ~ update   ${item.guid}${name}`);
      for (const ch of item.changes ?? []) {
        if (ch.field === "tags" || ch.field === "groups") {
          out(
            `      ${ch.field}: ${
              [
                ...(ch.before as string[]).map((t) => `-${t}`),
                ...(ch.after as string[]).map((t) => `+${t}`),
              ].join(" ")
            }`,
          );
        } else out(`      ${ch.field}: ${value(ch.before)} -> ${value(ch.after)}`);
      }
    }
  }
  for (const [action, n] of Object.entries(shown)) {
    if (n > SHOWN) out(`  ... and ${n - SHOWN} more to ${action} (harvester --json plan-show ${plan.id})`);
  }
  if (!plan.applied) {
    out(`Apply it with: harvester apply ${plan.id}  (until ${plan.expires.slice(0, 16).replace("T", " ")} UTC)`);
  }
}

export function planCommands(
  program: Command<[], Record<string, unknown>, Record<string, unknown>>,
  globals: (cmd: { optsWithGlobals(): unknown }) => GlobalOptions,
): void {
  program.command("plan").description("Preview a harvest: what it would add, update and withdraw; nothing is written")
    .argument("<source_id_or_name>")
    .action(async (id, _opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const plan = await act(ctx, "harvest_source_plan", { id });
        if (globals(cmd).json) return printJson(plan);
        printPlan(plan);
      }, { maxConnections: 10 });
    });
  program.command("plan-show").alias("plan_show").description("Show a stored preview").argument("<plan_id>")
    .action(async (id, _opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const plan = await act(ctx, "harvest_plan_show", { id });
        if (globals(cmd).json) return printJson(plan);
        printPlan(plan);
      });
    });
  program.command("plans").description("List a source's stored previews, newest first").argument("<source_id_or_name>")
    .action(async (id, _opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const plans = await act(ctx, "harvest_plan_list", { id });
        if (globals(cmd).json) return printJson(plans);
        for (const p of plans) {
          const c = p.counts;
          out(
            `${p.id}  ${
              p.created.slice(0, 19).replace("T", " ")
            }  +${c.add} ~${c.update} -${c.withdraw} !${c.error}  ` +
              (p.applied_job_id ? `applied by job ${p.applied_job_id}` : p.applied ? "applied" : "not applied"),
          );
        }
      });
    });
  program.command("apply").description("Apply a preview: write exactly what it showed, or refuse if the remote changed")
    .argument("<plan_id>")
    .action(async (id, _opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const plan = await act(ctx, "harvest_plan_show", { id });
        const display = progressDisplay(plan.source_name);
        const result = await act({ ...ctx, onProgress: (p) => display.update(p) }, "harvest_plan_apply", { id })
          .finally(() => display.end());
        if (globals(cmd).json) return printJson(result);
        out(`Applied preview ${result.plan_id} as job ${result.job.jobId}`);
        out(summaryLine(result.job));
        if (result.job.status !== "Finished") throw new CliError(`Job ${result.job.jobId} is ${result.job.status}`);
      }, { maxConnections: 20 });
    });
}
