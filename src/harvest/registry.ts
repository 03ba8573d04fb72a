import { z } from "zod";
import type { Harvester, HarvesterInfo } from "./interface.ts";

const infoSchema = z.object({
  name: z.string().regex(/^[a-z0-9_-]{1,100}$/, "lower-case letters, digits, '_' or '-'"),
  title: z.string().min(1),
  description: z.string(),
  form_config_interface: z.enum(["Text", "Hidden"]).optional(),
});

const moduleSchema = z.object({
  info: z.function(),
  gather: z.function(),
  fetch: z.function(),
  import: z.function(),
  validateConfig: z.function().optional(),
  checkUrl: z.function().optional(),
  getOriginalUrl: z.function().optional(),
  secretConfigKeys: z.function().optional(),
});

/** The harvesters this process knows, by source type. */
export class HarvesterRegistry {
  #byName = new Map<string, Harvester>();

  /** Registers a harvester after checking it has the interface's shape. */
  register(harvester: Harvester): void {
    const shape = moduleSchema.safeParse(harvester);
    if (!shape.success) {
      const issue = shape.error.issues[0]!;
      throw new Error(`Cannot register harvester: ${issue.path.join(".") || "object"}: ${issue.message}`);
    }
    const info = infoSchema.safeParse(harvester.info());
    if (!info.success) {
      const issue = info.error.issues[0]!;
      throw new Error(`Cannot register harvester: info().${issue.path.join(".")}: ${issue.message}`);
    }
    if (this.#byName.has(info.data.name)) {
      throw new Error(`Cannot register harvester: a harvester named "${info.data.name}" is already registered`);
    }
    this.#byName.set(info.data.name, harvester);
  }

  get(name: string): Harvester | undefined {
    return this.#byName.get(name);
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  infos(): (HarvesterInfo & { show_config: boolean })[] {
    return [...this.#byName.values()].map((h) => {
      const info = h.info();
      return { ...info, show_config: (info.form_config_interface ?? "Text") === "Text" };
    });
  }
}
