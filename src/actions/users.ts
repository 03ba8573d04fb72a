import { z } from "zod";
import { AuthorizationError, NotFoundError, ValidationError } from "../errors/mod.ts";
import { NAME_PATTERN } from "../catalog/mod.ts";
import { hashPassword } from "../auth/passwords.ts";
import { hashToken, randomToken } from "../auth/tokens.ts";
import { capacityIn, requireSysadmin } from "./auth.ts";
import { type ActionContext, defineAction, zBool, zId, zInt } from "./registry.ts";

const NAME_RULE = "Must be 2-100 characters of lowercase letters (a-z), digits and these symbols: -_";

async function userByIdOrName(ctx: ActionContext, idOrName: string) {
  const [u] = await ctx.services.sql<{ id: string; name: string; sysadmin: boolean }[]>`
    SELECT id, name, sysadmin FROM "user" WHERE (id = ${idOrName} OR name = ${idOrName}) AND state = 'active'`;
  if (!u) throw new NotFoundError(`User not found: ${idOrName}`);
  return u;
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
  const [g] = await ctx.services.sql<{ id: string; name: string }[]>`
    SELECT id, name FROM "group" WHERE (id = ${idOrName} OR name = ${idOrName})
      AND is_organization = ${organization} AND state = 'active'`;
  if (!g) throw new NotFoundError(`${organization ? "Organization" : "Group"} not found: ${idOrName}`);
  return g;
}

export const userCreate = defineAction({
  name: "user_create",
  doc: "Creates a user. Returns the user without password or email hashes.",
  auth: "sysadmin",
  sideEffectFree: false,
  sysadminOnly: true,
  input: z.object({
    name: z.string({ error: "Missing value" }).regex(NAME_PATTERN, NAME_RULE),
    email: z.email().optional(),
    password: z.string().min(8, "Must be at least 8 characters").optional(),
    sysadmin: zBool.optional(),
  }),
  async run(ctx, input) {
    requireSysadmin(ctx.actor, "create users");
    const { sql } = ctx.services;
    const id = crypto.randomUUID();
    const passwordHash = input.password ? await hashPassword(input.password) : null;
    try {
      await sql`INSERT INTO "user" (id, name, email, password_hash, sysadmin)
        VALUES (${id}, ${input.name}, ${input.email ?? null}, ${passwordHash}, ${input.sysadmin ?? false})`;
    } catch (error) {
      if ((error as { constraint_name?: string }).constraint_name === "user_name_key") {
        throw ValidationError.of("name", `That login name is not available: ${input.name}`);
      }
      throw error;
    }
    return { id, name: input.name, email: input.email ?? null, sysadmin: input.sysadmin ?? false, state: "active" };
  },
});

export const apiTokenCreate = defineAction({
  name: "api_token_create",
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
    await ctx.services.sql`INSERT INTO api_token (id, user_id, name, token_hash, expires_at)
      VALUES (${id}, ${user.id}, ${input.name}, ${await hashToken(token)}, ${expires})`;
    return { id, name: input.name, user: user.name, token, expires_at: expires?.toISOString() ?? null };
  },
});

export const apiTokenRevoke = defineAction({
  name: "api_token_revoke",
  doc: "Revokes an API token by its id (or by the token itself).",
  auth: "the token's user, or a sysadmin",
  sideEffectFree: false,
  input: z.object({ jti: z.string().optional(), token: z.string().optional() }).refine((v) => v.jti || v.token, {
    message: "Missing value",
    path: ["jti"],
  }),
  async run(ctx, input) {
    const { sql } = ctx.services;
    const hash = input.token ? await hashToken(input.token) : "";
    const [t] = await sql<{ id: string; user_id: string }[]>`
      SELECT id, user_id FROM api_token WHERE id = ${input.jti ?? ""} OR token_hash = ${hash}`;
    if (!t) throw new NotFoundError("API token not found");
    if (!ctx.actor.sysadmin && ctx.actor.id !== t.user_id) {
      throw new AuthorizationError("Not authorized to revoke this token");
    }
    await sql`UPDATE api_token SET revoked = true WHERE id = ${t.id}`;
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
    doc: `Creates ${
      kind === "organization" ? "an organization" : "a group"
    }. The creator, if a user, becomes its admin.`,
    auth: "sysadmin",
    sideEffectFree: false,
    sysadminOnly: true,
    input: groupInput,
    async run(ctx, input) {
      requireSysadmin(ctx.actor, `create ${kind}s`);
      const { sql } = ctx.services;
      const id = input.id ?? crypto.randomUUID();
      try {
        await sql`INSERT INTO "group" (id, name, title, description, image_url, is_organization)
          VALUES (${id}, ${input.name}, ${input.title ?? input.name}, ${input.description ?? ""},
            ${input.image_url ?? ""}, ${kind === "organization"})`;
      } catch (error) {
        if ((error as { constraint_name?: string }).constraint_name === "group_name_key") {
          throw ValidationError.of("name", `Group name already exists in database: ${input.name}`);
        }
        throw error;
      }
      if (ctx.actor.id) {
        await sql`INSERT INTO membership (group_id, user_id, capacity) VALUES (${id}, ${ctx.actor.id}, 'admin')`;
      }
      return await groupDict(ctx, id, kind);
    },
  });
}

/** The organization or group dict of `*_show`. */
export async function groupDict(ctx: ActionContext, id: string, kind: "organization" | "group") {
  const [g] = await ctx.services.sql`
    SELECT g.id, g.name, g.title, g.description, g.image_url, g.state,
      to_char(g.created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS created,
      (CASE WHEN g.is_organization
        THEN (SELECT count(*)::int FROM package p WHERE p.owner_org = g.id AND p.state = 'active' AND NOT p.private)
        ELSE (SELECT count(*)::int FROM package_group pg JOIN package p ON p.id = pg.package_id
          WHERE pg.group_id = g.id AND p.state = 'active' AND NOT p.private) END) AS package_count
    FROM "group" g WHERE g.id = ${id}`;
  return {
    ...g,
    display_name: g!.title || g!.name,
    type: kind,
    is_organization: kind === "organization",
    approval_status: "approved",
  };
}

export const organizationMemberCreate = defineAction({
  name: "organization_member_create",
  doc: "Adds a user to an organization as admin, editor or member (or changes their role).",
  auth: "admin of the organization, or a sysadmin",
  sideEffectFree: false,
  input: z.object({ id: zId, username: zId, role: z.enum(["admin", "editor", "member"]) }),
  async run(ctx, input) {
    const org = await orgByIdOrName(ctx, input.id);
    await requireOrgAdmin(ctx, org);
    const user = await userByIdOrName(ctx, input.username);
    await ctx.services
      .sql`INSERT INTO membership (group_id, user_id, capacity) VALUES (${org.id}, ${user.id}, ${input.role})
      ON CONFLICT (group_id, user_id) DO UPDATE SET capacity = excluded.capacity`;
    return { organization: org.name, username: user.name, role: input.role };
  },
});

export const organizationMemberDelete = defineAction({
  name: "organization_member_delete",
  doc: "Removes a user from an organization.",
  auth: "admin of the organization, or a sysadmin",
  sideEffectFree: false,
  input: z.object({ id: zId, username: zId }),
  async run(ctx, input) {
    const org = await orgByIdOrName(ctx, input.id);
    await requireOrgAdmin(ctx, org);
    const user = await userByIdOrName(ctx, input.username);
    const removed = await ctx.services.sql`
      DELETE FROM membership WHERE group_id = ${org.id} AND user_id = ${user.id} RETURNING user_id`;
    if (removed.length === 0) throw new NotFoundError(`${user.name} is not a member of ${org.name}`);
    return { organization: org.name, username: user.name };
  },
});

/** A user as others see them: never a password hash; the e-mail only for themselves and sysadmins. */
async function userDict(ctx: ActionContext, id: string) {
  const [u] = await ctx.services.sql<
    { id: string; name: string; email: string | null; sysadmin: boolean; state: string; created: Date }[]
  >`SELECT id, name, email, sysadmin, state, created FROM "user" WHERE id = ${id}`;
  const self = ctx.actor.sysadmin || ctx.actor.id === id;
  const organizations = await ctx.services.sql<{ name: string; capacity: string }[]>`
    SELECT g.name, m.capacity FROM membership m JOIN "group" g ON g.id = m.group_id WHERE m.user_id = ${id}
    ORDER BY g.name`;
  return {
    id: u!.id,
    name: u!.name,
    ...(self ? { email: u!.email } : {}),
    sysadmin: u!.sysadmin,
    state: u!.state,
    created: u!.created.toISOString(),
    organizations: [...organizations],
  };
}

export const userShow = defineAction({
  name: "user_show",
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
  doc: "Lists active users by name, a page at a time (limit default 100, at most 1000).",
  auth: "sysadmin",
  sideEffectFree: true,
  sysadminOnly: true,
  input: z.object({ limit: zInt(1, 1000).optional(), offset: zInt(0).optional() }),
  async run(ctx, input) {
    requireSysadmin(ctx.actor, "list users");
    const rows = await ctx.services.sql<{ id: string }[]>`
      SELECT id FROM "user" WHERE state = 'active' ORDER BY name
      LIMIT ${input.limit ?? 100} OFFSET ${input.offset ?? 0}`;
    const out = [];
    for (const r of rows) out.push(await userDict(ctx, r.id));
    return out;
  },
});

export const apiTokenList = defineAction({
  name: "api_token_list",
  doc: "Lists a user's tokens: id, name, created, expires_at, last_access, revoked (never the token).",
  auth: "the user themself, or a sysadmin",
  sideEffectFree: true,
  input: z.object({ user: zId }),
  async run(ctx, input) {
    const user = await ownAccount(ctx, input.user, "list tokens of");
    const rows = await ctx.services.sql`
      SELECT id, name, created, expires_at, last_access, revoked FROM api_token WHERE user_id = ${user.id}
      ORDER BY created, id`;
    return rows.map((r) => ({
      ...r,
      created: (r.created as Date).toISOString(),
      expires_at: (r.expires_at as Date | null)?.toISOString() ?? null,
      last_access: (r.last_access as Date | null)?.toISOString() ?? null,
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
