/**
 * The CLI's account commands: users and their API tokens, organizations and groups.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { act, type GlobalOptions, note, out, withServices } from "./context.ts";
import { printJson } from "./print.ts";

export function accountCommands(
  program: Command<[], Record<string, unknown>, Record<string, unknown>>,
  globals: (cmd: { optsWithGlobals(): unknown }) => GlobalOptions,
): void {
  const user = program.command("user").description("Users and their API tokens");
  user.command("add").description("Create a user").argument("<name>")
    .option("--email <email>").option("--password <password>", "at least 8 characters")
    .option("--sysadmin", "make the user a sysadmin")
    .action(async (name, opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const u = await act(ctx, "user_create", {
          name,
          email: opts.email,
          password: opts.password,
          sysadmin: opts.sysadmin ?? false,
        });
        if (globals(cmd).json) return printJson(u);
        out(`Created user ${u.name}${u.sysadmin ? " (sysadmin)" : ""}`);
      });
    });
  const token = user.command("token").description("API tokens");
  token.command("add").description("Create an API token; it is printed once").argument("<user>")
    .argument("<token_name>").option("--expires-in <days>", "days until the token expires")
    .action(async (userName, tokenName, opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const t = await act(ctx, "api_token_create", {
          user: userName,
          name: tokenName,
          expires_in: opts.expiresIn,
        });
        if (globals(cmd).json) return printJson(t);
        note(`API token ${t.id} created for ${t.user}; it is shown only now:`);
        out(String(t.token));
      });
    });
  token.command("revoke").description("Revoke an API token by its id").argument("<token_id>")
    .action(async (id, _o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        await act(ctx, "api_token_revoke", { jti: id });
        out(`Revoked API token ${id}`);
      });
    });
  const org = program.command("org").description("Organizations");
  org.command("add").description("Create an organization").argument("<name>").argument("[title]")
    .action(async (name, title, _o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const o = await act(ctx, "organization_create", { name, title });
        if (globals(cmd).json) return printJson(o);
        out(`Created organization ${o.name}`);
      });
    });
  org.command("member").description("Organization members").command("add")
    .description("Add a user to an organization as admin, editor or member")
    .argument("<org>").argument("<user>").argument("<role>", "admin, editor or member")
    .action(async (orgName, userName, role, _o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        await act(ctx, "organization_member_create", { id: orgName, username: userName, role });
        out(`${userName} is now ${role} of ${orgName}`);
      });
    });
  const group = program.command("group").description("Groups");
  group.command("add").description("Create a group").argument("<name>").argument("[title]")
    .action(async (name, title, _o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const g = await act(ctx, "group_create", { name, title });
        if (globals(cmd).json) return printJson(g);
        out(`Created group ${g.name}`);
      });
    });
}
