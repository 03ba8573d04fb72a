import { AuthorizationError } from "../errors/mod.ts";
import type { Actor } from "../auth/actor.ts";

export { canEditSource, canReadSource, type Capacity, capacityIn, memberOrgIds } from "../auth/users.ts";

export function requireSysadmin(actor: Actor, what: string): void {
  if (!actor.sysadmin) throw new AuthorizationError(`User ${actor.name || "(anonymous)"} not authorized to ${what}`);
}
