/**
 * Who hears about a source's jobs.
 *
 * @module
 */
import type { Recipient, Services } from "../services_type.ts";
import type { SourceRow } from "./sources.ts";
import { adminsWithEmail } from "../auth/users.ts";

export type { Recipient, RecipientsHook } from "../services_type.ts";

/**
 * Sysadmins, then the admins of the source's organization, each with a non-blank e-mail, de-duplicated
 * by address (case-insensitively), then passed through the plugins' hooks.
 */
export async function notificationRecipients(services: Services, source: SourceRow): Promise<Recipient[]> {
  const rows = await adminsWithEmail(services.sql, source.owner_org);
  const seen = new Set<string>();
  let out: Recipient[] = [];
  for (const r of rows) {
    const key = r.email.trim().toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name: r.name, email: r.email.trim() });
  }
  for (const hook of services.hooks.recipients) out = await hook(source, out);
  return out;
}
