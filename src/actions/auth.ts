import type { Queryable } from "../db/mod.ts";
import { AuthorizationError } from "../errors/mod.ts";
import type { Actor } from "./registry.ts";

export type Capacity = "admin" | "editor" | "member";

/** The actor's role in an organization, if any. */
export async function capacityIn(sql: Queryable, actor: Actor, orgId: string | null): Promise<Capacity | undefined> {
  if (!actor.id || !orgId) return undefined;
  const [m] = await sql<{ capacity: Capacity }[]>`
    SELECT capacity FROM membership WHERE user_id = ${actor.id} AND group_id = ${orgId}`;
  return m?.capacity;
}

/** Organizations whose private datasets and sources the actor may see. */
export async function memberOrgIds(sql: Queryable, actor: Actor): Promise<string[]> {
  if (!actor.id) return [];
  const rows = await sql<{ group_id: string }[]>`SELECT group_id FROM membership WHERE user_id = ${actor.id}`;
  return rows.map((r) => r.group_id);
}

/** Sources follow their organization: its editors and admins manage them. */
export async function canEditSource(sql: Queryable, actor: Actor, source: { owner_org: string | null }) {
  if (actor.sysadmin) return true;
  const capacity = await capacityIn(sql, actor, source.owner_org);
  return capacity === "admin" || capacity === "editor";
}

export async function canReadSource(
  sql: Queryable,
  actor: Actor,
  source: { owner_org: string | null; private: boolean; state: string },
) {
  if (actor.sysadmin) return true;
  if (!source.private && source.state === "active") return true;
  return (await capacityIn(sql, actor, source.owner_org)) !== undefined;
}

export function requireSysadmin(actor: Actor, what: string): void {
  if (!actor.sysadmin) throw new AuthorizationError(`User ${actor.name || "(anonymous)"} not authorized to ${what}`);
}
