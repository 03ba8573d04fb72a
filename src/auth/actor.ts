/** Who calls an action. The CLI acts as the site itself. */
export interface Actor {
  kind: "site" | "user" | "anonymous";
  id: string | null;
  name: string;
  sysadmin: boolean;
}

export const SITE_ACTOR: Actor = { kind: "site", id: null, name: "site", sysadmin: true };
export const ANONYMOUS: Actor = { kind: "anonymous", id: null, name: "", sysadmin: false };
