import { EDITORS } from "./access.ts";
import { z } from "zod";
import { harvestTime } from "../harvest/dicts.ts";
import { withdrawDataset } from "../harvest/import_catalog.ts";
import { decideDeletions, dropDeletion, listedByNewestJob, pendingDeletions } from "../harvest/deletions.ts";
import { defineAction, zId } from "./registry.ts";
import { editableSource } from "./sources.ts";

const guidsField = z.union([z.array(z.string()), z.string().transform((s) => s.split(",").filter(Boolean))])
  .optional().describe("Only these records (default: every pending deletion of the source)");

export const harvestSourcePendingDeletions = defineAction({
  name: "harvest_source_pending_deletions",
  access: EDITORS,
  doc: "Lists the deletions of a source held for approval: guid, dataset, why, and which job held them.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: true,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const source = await editableSource(ctx, input.id, "see pending deletions");
    const rows = await pendingDeletions(ctx.services.sql, source.id);
    return rows.map((r) => ({ ...r, created: harvestTime(r.created) }));
  },
});

function decide(decision: "approved" | "rejected") {
  return defineAction({
    name: decision === "approved" ? "harvest_source_deletions_approve" : "harvest_source_deletions_reject",
    access: EDITORS,
    doc: decision === "approved"
      ? "Approves held deletions: the datasets are withdrawn (state deleted), except those whose record the " +
        "source's newest gathered job lists again, whose held deletion is dropped. Returns how many of each."
      : "Rejects held deletions: the datasets stay. If their records are still missing on a later run, they are " +
        "held again. Returns how many.",
    auth: "editor or admin of the source's organization",
    sideEffectFree: false,
    input: z.object({ id: zId, guids: guidsField }),
    async run(ctx, input) {
      const source = await editableSource(ctx, input.id, "decide on deletions");
      const guids = input.guids ?? null;
      return await ctx.services.sql.begin(async (tx) => {
        const rows = await decideDeletions(tx, source.id, decision, ctx.actor.name, guids);
        let withdrawn = 0;
        let stillListed = 0;
        if (decision === "approved") {
          // Re-checked against the latest listing: a record the remote lists again is not withdrawn.
          const listed = await listedByNewestJob(tx, source.id, rows.map((r) => r.guid));
          for (const r of rows) {
            if (listed.has(r.guid)) {
              stillListed++;
              await dropDeletion(tx, r.id);
            } else if (await withdrawDataset(tx, ctx.services.target, source.id, r.guid)) withdrawn++;
          }
        }
        return { [decision]: rows.length - stillListed, withdrawn, still_listed: stillListed };
      });
    },
  });
}

export const deletionActions = [harvestSourcePendingDeletions, decide("approved"), decide("rejected")];
