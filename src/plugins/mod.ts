/**
 * Third-party plugins, loaded at start-up from the URLs in `ckan.harvest.plugins` (`file:`, `http:`,
 * `https:`). A plugin module's default export (or the module itself) has `harvesters` (a list) and
 * optionally `hooks` (`recipients`: functions that adjust who gets a source's mails). Every problem
 * stops start-up with one line naming the URL and what does not fit.
 *
 * @module
 */
import { z } from "zod";
import { getLogger } from "@logtape/logtape";
import type { Harvester } from "../harvest/interface.ts";
import type { HarvesterRegistry } from "../harvest/registry.ts";
import type { RecipientsHook } from "../harvest/notify.ts";
import { ConfigError } from "../config/mod.ts";

const log = getLogger(["harvest", "plugins"]);

const pluginSchema = z.object({
  harvesters: z.array(z.unknown(), { error: "must export `harvesters`, a list of harvester objects" }).optional(),
  hooks: z.object({
    recipients: z.array(z.function(), { error: "hooks.recipients must be a list of functions" }).optional(),
  }).optional(),
}).refine((p) => p.harvesters?.length || p.hooks?.recipients?.length, {
  message: "exports no harvesters and no hooks",
});

export interface LoadedPlugins {
  recipients: RecipientsHook[];
}

/** Imports each plugin URL and registers what it provides. */
export async function loadPlugins(urls: readonly string[], registry: HarvesterRegistry): Promise<LoadedPlugins> {
  const loaded: LoadedPlugins = { recipients: [] };
  for (const url of urls) {
    const fail = (why: string): never => {
      throw new ConfigError(`Invalid configuration: ckan.harvest.plugins: ${url}: ${why}`);
    };
    if (!/^(file|https?):/.test(url)) fail("expected a file:, http: or https: URL");
    let module: Record<string, unknown>;
    try {
      module = await import(url);
    } catch (error) {
      fail(`cannot load it: ${(error as Error).message.split("\n")[0]}`);
    }
    const exported = (module!.default && typeof module!.default === "object" ? module!.default : module!) as Record<
      string,
      unknown
    >;
    const parsed = pluginSchema.safeParse(exported);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      fail(`${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issue.message}`);
    }
    for (const harvester of parsed.data!.harvesters ?? []) {
      try {
        registry.register(harvester as Harvester);
      } catch (error) {
        fail((error as Error).message);
      }
    }
    loaded.recipients.push(...(parsed.data!.hooks?.recipients ?? []) as RecipientsHook[]);
    log.info("Loaded plugin {url}: harvesters {names}", {
      url,
      names: (parsed.data!.harvesters ?? []).map((h) => (h as Harvester).info().name).join(", "),
    });
  }
  return loaded;
}
