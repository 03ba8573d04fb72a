/**
 * Who may call an action, as data: each rule names what every role gets, relative to organization A
 * that owns the source or dataset the action is about. The README's "Who may call what" table is
 * printed from these rules (`deno task docs`), and `tests/auth_matrix_test.ts` calls every action as
 * every role against them.
 *
 * `runAction` enforces `sysadmin` itself, before the input is read (so validation messages reveal
 * nothing); the rules that depend on a record (readers, editors, own, org admins) are enforced by
 * the action's logic once the record is found, through the checks in `auth/users.ts`.
 *
 * @module
 */

export const ROLES = ["anonymous", "member", "editor", "admin", "other-org admin", "sysadmin"] as const;
export type Role = (typeof ROLES)[number];
/** `public`: on public sources and datasets only; `own`: on the caller's own account only. */
export type Cell = "yes" | "no" | "public" | "own";

export interface AccessRule {
  name: "anyone" | "sysadmin" | "readers" | "editors" | "own" | "org_admins" | "any_editor";
  words: string;
  row: Record<Role, Cell>;
}

const row = (...cells: Cell[]) => Object.fromEntries(ROLES.map((r, i) => [r, cells[i]!])) as Record<Role, Cell>;

export const ANYONE: AccessRule = {
  name: "anyone",
  words: "anyone",
  row: row("yes", "yes", "yes", "yes", "yes", "yes"),
};
export const SYSADMIN: AccessRule = {
  name: "sysadmin",
  words: "sysadmin",
  row: row("no", "no", "no", "no", "no", "yes"),
};
export const READERS: AccessRule = {
  name: "readers",
  words: "anyone for public sources and datasets; members of their organization for private ones",
  row: row("public", "yes", "yes", "yes", "public", "yes"),
};
export const EDITORS: AccessRule = {
  name: "editors",
  words: "editors and admins of the organization",
  row: row("no", "no", "yes", "yes", "no", "yes"),
};
export const OWN: AccessRule = {
  name: "own",
  words: "the user themself, or a sysadmin",
  row: row("no", "own", "own", "own", "own", "yes"),
};
export const ORG_ADMINS: AccessRule = {
  name: "org_admins",
  words: "admins of the organization, or a sysadmin",
  row: row("no", "no", "no", "yes", "no", "yes"),
};

/** Those who may create sources somewhere: editors and admins of any organization, and sysadmins. */
export const ANY_EDITOR: AccessRule = {
  name: "any_editor",
  words: "editors and admins of any organization, and sysadmins",
  row: row("no", "no", "yes", "yes", "yes", "yes"),
};

export const RULES = [ANYONE, SYSADMIN, READERS, EDITORS, OWN, ORG_ADMINS, ANY_EDITOR];
