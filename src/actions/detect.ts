/**
 * `harvest_source_detect`: the harvester type and a starting config for a URL, probed through the
 * guarded outbound client (src/harvesters/detect.ts).
 *
 * @module
 */
import { z } from "zod";
import { AuthorizationError } from "../errors/mod.ts";
import { editsAnyOrganization } from "../auth/users.ts";
import { detectSource } from "../harvesters/detect.ts";
import { ANY_EDITOR } from "./access.ts";
import { defineAction } from "./registry.ts";

export const harvestSourceDetect = defineAction({
  name: "harvest_source_detect",
  access: ANY_EDITOR,
  doc:
    "Probes a URL and proposes the harvester type and a starting config: a CKAN action API, a DCAT catalog (RDF/XML, " +
    "Turtle or JSON-LD by content negotiation, with Hydra paging), a DCAT-US data.json, a CSW server, an ISO 19139 " +
    "document or a Web Accessible Folder. Within 10 s; private addresses are refused as for harvests. Returns {url, " +
    "source_type (null when not recognised), config, reason, probes: [{probe, saw}], registered: whether this " +
    "service has that harvester}.",
  auth: "editors and admins of any organization, and sysadmins: those who may create sources",
  sideEffectFree: true,
  input: z.object({
    url: z.string({ error: "Missing value" }).trim().refine((u) => {
      try {
        return ["http:", "https:"].includes(new URL(u).protocol);
      } catch {
        return false;
      }
    }, "Must be an http or https URL"),
  }),
  async run(ctx, input) {
    if (!ctx.actor.sysadmin && !await editsAnyOrganization(ctx.services.sql, ctx.actor)) {
      throw new AuthorizationError(
        `User ${ctx.actor.name || "(anonymous)"} not authorized to detect sources: only those who may create one`,
      );
    }
    const found = await detectSource(ctx.services.http, input.url);
    return {
      ...found,
      registered: found.source_type ? ctx.services.harvesters.get(found.source_type) !== undefined : false,
    };
  },
});
