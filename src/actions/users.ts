import { ORG_ADMINS, OWN, SYSADMIN } from "./access.ts";
import { z } from "zod";
import { AuthorizationError, NotFoundError } from "../errors/mod.ts";
import { NAME_PATTERN } from "../catalog/mod.ts";
import { hashPassword } from "../auth/passwords.ts";
import { createToken, findToken, listTokens, randomToken, revokeToken } from "../auth/tokens.ts";
import {
  capacityIn,
  createUser,
  getUser,
  listUserIds,
  removeMembership,
  setMembership,
  userRecord,
} from "../auth/users.ts";
import { createGroup, findGroup, groupDict } from "../catalog/groups.ts";
import { type ActionContext, defineAction, zBool, zId, zInt } from "./registry.ts";

const NAME_RULE = "Must be 2-100 characters of lowercase letters (a-z), digits and these symbols: -_";

function userByIdOrName(ctx: ActionContext, idOrName: string) {
  return getUser(ctx.services.sql, idOrName);
}

/**
 * The account an account action is about, for its own user or a sysadmin. Anyone else is refused
 * before the name is looked up, so a 403 and a 404 cannot tell which names exist.
 */
async function ownAccount(ctx: ActionContext, idOrName: string, what: string) {
  if (!ctx.actor.sysadmin && idOrName !== ctx.actor.id && idOrName !== ctx.actor.name) {
    throw new AuthorizationError(`User ${ctx.actor.name || "(anonymous)"} not authorized to ${what} ${idOrName}`);
  }
  return await userByIdOrName(ctx, idOrName);
}

/** An organization's members are managed by its admins, or a sysadmin. */
async function requireOrgAdmin(ctx: ActionContext, org: { id: string; name: string }): Promise<void> {
  if (!ctx.actor.sysadmin && await capacityIn(ctx.services.sql, ctx.actor, org.id) !== "admin") {
    throw new AuthorizationError(
      `User ${ctx.actor.name || "(anonymous)"} not authorized to manage members of ${org.name}`,
    );
  }
}

async function orgByIdOrName(ctx: ActionContext, idOrName: string, organization = true) {
  const g = await findGroup(ctx.services.sql, idOrName, { kind: organization ? "organization" : "group" });
  if (!g) throw new NotFoundError(`${organization ? "Organization" : "Group"} not found: ${idOrName}`);
  return g;
}

export const userCreate = defineAction({
  name: "user_create",
  access: SYSADMIN,
  doc: "Creates a user. Returns the user without password or email hashes.",
  auth: "sysadmin",
  sideEffectFree: false,
  input: z.object({
    name: z.string({ error: "Missing value" }).regex(NAME_PATTERN, NAME_RULE),
    email: z.email().optional(),
    password: z.string().min(8, "Must be at least 8 characters").optional(),
    sysadmin: zBool.optional(),
  }),
  async run(ctx, input) {
    const id = await createUser(ctx.services.sql, {
      name: input.name,
      email: input.email ?? null,
      passwordHash: input.password ? await hashPassword(input.password) : null,
      sysadmin: input.sysadmin ?? false,
    });
    return { id, name: input.name, email: input.email ?? null, sysadmin: input.sysadmin ?? false, state: "active" };
  },
});

export const apiTokenCreate = defineAction({
  name: "api_token_create",
  access: OWN,
  doc: "Creates an API token for a user; the token is returned once and stored only as its hash. " +
    "expires_in is in days.",
  auth: "the user themself, or a sysadmin",
  sideEffectFree: false,
  input: z.object({ user: zId, name: zId, expires_in: zInt(1, 36500).optional() }),
  async run(ctx, input) {
    const user = await ownAccount(ctx, input.user, "create tokens for");
    const token = `hv_${randomToken()}`;
    const id = crypto.randomUUID();
    const expires = input.expires_in ? new Date(Date.now() + input.expires_in * 86_400_000) : null;
    await createToken(ctx.services.sql, { id, userId: user.id, name: input.name, token, expires });
    return { id, name: input.name, user: user.name, token, expires_at: expires?.toISOString() ?? null };
  },
});

export const apiTokenRevoke = defineAction({
  name: "api_token_revoke",
  access: OWN,
  doc: "Revokes an API token by its id (or by the token itself).",
  auth: "the token's user, or a sysadmin",
  sideEffectFree: false,
  input: z.object({ jti: z.string().optional(), token: z.string().optional() }).refine((v) => v.jti || v.token, {
    message: "Missing value",
    path: ["jti"],
  }),
  async run(ctx, input) {
    const t = await findToken(ctx.services.sql, { id: input.jti, token: input.token });
    if (!t) throw new NotFoundError("API token not found");
    if (!ctx.actor.sysadmin && ctx.actor.id !== t.user_id) {
      throw new AuthorizationError("Not authorized to revoke this token");
    }
    await revokeToken(ctx.services.sql, t.id);
    return { id: t.id, revoked: true };
  },
});

const groupInput = z.object({
  name: z.string({ error: "Missing value" }).regex(NAME_PATTERN, NAME_RULE),
  id: z.string().optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  image_url: z.string().optional(),
});

function groupCreateAction(kind: "organization" | "group") {
  return defineAction({
    name: `${kind}_create`,
    access: SYSADMIN,
    doc: `Creates ${
      kind === "organization" ? "an organization" : "a group"
    }. The creator, if a user, becomes its admin.`,
    auth: "sysadmin",
    sideEffectFree: false,
    input: groupInput,
    async run(ctx, input) {
      const { sql } = ctx.services;
      const id = await createGroup(sql, kind, input);
      if (ctx.actor.id) await setMembership(sql, id, ctx.actor.id, "admin");
      return await groupDict(sql, id, kind);
    },
  });
}

export const organizationMemberCreate = defineAction({
  name: "organization_member_create",
  access: ORG_ADMINS,
  doc: "Adds a user to an organization as admin, editor or member (or changes their role).",
  auth: "admin of the organization, or a sysadmin",
  sideEffectFree: false,
  input: z.object({ id: zId, username: zId, role: z.enum(["admin", "editor", "member"]) }),
  async run(ctx, input) {
    const org = await orgByIdOrName(ctx, input.id);
    await requireOrgAdmin(ctx, org);
    const user = await userByIdOrName(ctx, input.username);
    await setMembership(ctx.services.sql, org.id, user.id, input.role);
    return { organization: org.name, username: user.name, role: input.role };
  },
});

export const organizationMemberDelete = defineAction({
  name: "organization_member_delete",
  access: ORG_ADMINS,
  doc: "Removes a user from an organization.",
  auth: "admin of the organization, or a sysadmin",
  sideEffectFree: false,
  input: z.object({ id: zId, username: zId }),
  async run(ctx, input) {
    const org = await orgByIdOrName(ctx, input.id);
    await requireOrgAdmin(ctx, org);
    const user = await userByIdOrName(ctx, input.username);
    const removed = await removeMembership(ctx.services.sql, org.id, user.id);
    if (!removed) throw new NotFoundError(`${user.name} is not a member of ${org.name}`);
    return { organization: org.name, username: user.name };
  },
});

/** A user as others see them: never a password hash; the e-mail only for themselves and sysadmins. */
async function userDict(ctx: ActionContext, id: string) {
  const u = await userRecord(ctx.services.sql, id);
  const self = ctx.actor.sysadmin || ctx.actor.id === id;
  return {
    id: u.id,
    name: u.name,
    ...(self ? { email: u.email } : {}),
    sysadmin: u.sysadmin,
    state: u.state,
    created: u.created.toISOString(),
    organizations: u.organizations,
  };
}

export const userShow = defineAction({
  name: "user_show",
  access: OWN,
  doc: "Shows a user with their organizations and roles (the e-mail only to themself and sysadmins).",
  auth: "the user themself, or a sysadmin",
  sideEffectFree: true,
  input: z.object({ id: zId }),
  async run(ctx, input) {
    const user = await ownAccount(ctx, input.id, "see");
    return await userDict(ctx, user.id);
  },
});

export const userList = defineAction({
  name: "user_list",
  access: SYSADMIN,
  doc: "Lists active users by name, a page at a time (limit default 100, at most 1000).",
  auth: "sysadmin",
  sideEffectFree: true,
  input: z.object({ limit: zInt(1, 1000).optional(), offset: zInt(0).optional() }),
  async run(ctx, input) {
    const ids = await listUserIds(ctx.services.sql, input.limit ?? 100, input.offset ?? 0);
    const out = [];
    for (const id of ids) out.push(await userDict(ctx, id));
    return out;
  },
});

export const apiTokenList = defineAction({
  name: "api_token_list",
  access: OWN,
  doc: "Lists a user's tokens: id, name, created, expires_at, last_access, revoked (never the token).",
  auth: "the user themself, or a sysadmin",
  sideEffectFree: true,
  input: z.object({ user: zId }),
  async run(ctx, input) {
    const user = await ownAccount(ctx, input.user, "list tokens of");
    const rows = await listTokens(ctx.services.sql, user.id);
    return rows.map((r) => ({
      ...r,
      created: r.created.toISOString(),
      expires_at: r.expires_at?.toISOString() ?? null,
      last_access: r.last_access?.toISOString() ?? null,
    }));
  },
});

export const userActions = [
  userCreate,
  userShow,
  userList,
  apiTokenCreate,
  apiTokenList,
  apiTokenRevoke,
  groupCreateAction("organization"),
  groupCreateAction("group"),
  organizationMemberCreate,
  organizationMemberDelete,
];

export { orgByIdOrName };
