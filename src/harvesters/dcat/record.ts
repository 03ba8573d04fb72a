/**
 * What both DCAT harvesters do with a record: keep an oversized one in the listing but fail it, and
 * import one through a mapping, with its warnings, default tags and the source's organization.
 *
 * @module
 */
import type { ImportContext } from "../../harvest/interface.ts";
import type { Tree } from "./profile.ts";

export const TOO_LARGE = "__record_too_large__";

/** Imports a record (or reports it too large) through a mapping onto a local dataset. */
export async function importRecord(
  ctx: ImportContext,
  toPackage: (record: Tree, warn: (m: string) => void) => Record<string, unknown>,
  extraTags: { name: string }[] = [],
): Promise<true | "unchanged" | false> {
  const content = JSON.parse(ctx.object.content ?? "{}");
  if (content[TOO_LARGE]) {
    await ctx.saveObjectError(
      `Record ${ctx.object.guid} is ${Math.ceil(content[TOO_LARGE].bytes / 1024)} KB, over max_record_kb ` +
        `(${content[TOO_LARGE].limitKb} KB): not imported`,
      "Gather",
    );
    return false;
  }
  const warnings: string[] = [];
  const pkg = toPackage(content, (m) => warnings.push(m));
  for (const w of warnings) await ctx.saveObjectError(w, "Import warning");
  if (extraTags.length) {
    const tags = (pkg.tags as { name: string }[] | undefined) ?? [];
    for (const t of extraTags) if (!tags.some((x) => x.name === t.name)) tags.push(t);
    pkg.tags = tags;
  }
  pkg.owner_org = ctx.source.owner_org;
  return await ctx.catalog.createOrUpdateDataset(pkg);
}

/** A record whose description is too large is kept in the listing (so it is not withdrawn) but fails. */
export function recordContent(content: string, limitKb: number): string {
  const bytes = new TextEncoder().encode(content).length;
  return bytes > limitKb * 1024 ? JSON.stringify({ [TOO_LARGE]: { bytes, limitKb } }) : content;
}
