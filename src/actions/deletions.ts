import { z } from "zod";
import { harvestTime } from "../harvest/dicts.ts";
import { DELETED_EXTRA } from "../harvest/pipeline.ts";
import { withdrawDataset } from "../harvest/import_catalog.ts";
import { defineAction, zId } from "./registry.ts";
import { editableSource } from "./sources.ts";

const guidsField = z.union([z.array(z.string()), z.string().transform((s) => s.split(",").filter(Boolean))])
  .optional().describe("Only these records (default: every pending deletion of the source)");

export const harvestSourcePendingDeletions = defineAction({
  name: "harvest_source_pending_deletions",
  doc: "Lists the deletions of a source held for approval: guid, dataset, why, and which job held them.",
  auth: "editor or admin of the source's organization",
  sideEffectFree: true,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const source = await editableSource(ctx, input.id, "see pending deletions");
    const rows = await ctx.services.sql<
      {
        id: string;
        guid: string;
        package_id: string;
        name: string;
        title: string;
        reason: string;
        job_id: string | null;
        created: Date;
      }[]
    >`
      SELECT d.id, d.guid, d.package_id, p.name, p.title, d.reason, d.job_id, d.created
      FROM harvest_pending_deletion d JOIN package p ON p.id = d.package_id
      WHERE d.source_id = ${source.id} AND d.status = 'pending' ORDER BY p.name`;
    return rows.map((r) => ({ ...r, created: harvestTime(r.created) }));
  },
});

function decide(decision: "approved" | "rejected") {
  return defineAction({
    name: decision === "approved" ? "harvest_source_deletions_approve" : "harvest_source_deletions_reject",
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
        const rows = await tx<{ id: string; guid: string }[]>`
          UPDATE harvest_pending_deletion SET status = ${decision}, decided = now(), decided_by = ${ctx.actor.name}
          WHERE source_id = ${source.id} AND status = 'pending' AND (${guids}::text[] IS NULL OR guid = ANY(${guids}))
          RETURNING id, guid`;
        let withdrawn = 0;
        let stillListed = 0;
        if (decision === "approved") {
          // Re-checked against the latest listing: a record the remote lists again is not withdrawn.
          const listed = new Set(
            (await tx<{ guid: string }[]>`
              SELECT o.guid FROM harvest_object o
              WHERE o.harvest_job_id = (SELECT id FROM harvest_job WHERE source_id = ${source.id}
                  AND gather_finished IS NOT NULL ORDER BY gather_finished DESC LIMIT 1)
                AND o.guid = ANY(${rows.map((r) => r.guid)})
                AND NOT EXISTS (SELECT 1 FROM harvest_object_extra x WHERE x.harvest_object_id = o.id
                  AND x.key = ${DELETED_EXTRA})`).map((r) => r.guid),
          );
          for (const r of rows) {
            if (listed.has(r.guid)) {
              stillListed++;
              await tx`DELETE FROM harvest_pending_deletion WHERE id = ${r.id}`;
            } else if (await withdrawDataset(tx, ctx.services.target, source.id, r.guid)) withdrawn++;
          }
        }
        return { [decision]: rows.length - stillListed, withdrawn, still_listed: stillListed };
      });
    },
  });
}

export const deletionActions = [harvestSourcePendingDeletions, decide("approved"), decide("rejected")];
