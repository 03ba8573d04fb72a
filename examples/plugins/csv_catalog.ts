/**
 * An example plugin: a harvester for catalogs published as one CSV file, with the columns
 * `id,title,description,url,modified,tags` (tags separated by `;`). It shows plugin authors the whole
 * interface: `info`, `validateConfig`, `checkUrl`, `secretConfigKeys`, `getOriginalUrl`, `gather`
 * (with `reportListing`, so records that vanish are withdrawn), `fetch`, `import`, and a hook.
 *
 * Load it with `ckan.harvest.plugins = file:///path/to/examples/plugins/csv_catalog.ts` (or an
 * `https:` URL). Only type imports point into the service, so the file works from anywhere.
 *
 * @module
 */
import type { GatheredRecord, Harvester } from "../../src/harvest/interface.ts";
import type { Recipient } from "../../src/harvest/notify.ts";

interface CsvConfig {
  delimiter: string;
  api_token?: string;
}

function parseConfig(text: string): CsvConfig {
  const raw = text.trim() ? JSON.parse(text) : {};
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error("The configuration must be a JSON object");
  const delimiter = raw.delimiter ?? ",";
  if (typeof delimiter !== "string" || delimiter.length !== 1) throw new Error("delimiter must be one character");
  if (raw.api_token !== undefined && typeof raw.api_token !== "string") throw new Error("api_token must be a string");
  return { delimiter, api_token: raw.api_token };
}

/** One CSV line into fields; quotes ("a, b") and doubled quotes inside them are understood. */
function splitLine(line: string, delimiter: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (field += '"', i++);
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) (fields.push(field), field = "");
    else field += c;
  }
  fields.push(field);
  return fields;
}

const headers = (config: CsvConfig): Record<string, string> =>
  config.api_token ? { Authorization: `Bearer ${config.api_token}` } : {};

export const csvCatalogHarvester: Harvester = {
  info: () => ({
    name: "csv_catalog",
    title: "CSV catalog (example plugin)",
    description: "Harvests a catalog published as one CSV file: id, title, description, url, modified, tags",
    form_config_interface: "Text",
  }),
  validateConfig(config) {
    parseConfig(config);
    return config;
  },
  async checkUrl(url, http, config) {
    const { text } = await http.getText(url, { headers: headers(parseConfig(config ?? "")) });
    if (!text.split("\n")[0]!.startsWith("id")) throw new Error("the first line is not a header starting with id");
  },
  secretConfigKeys: () => ["api_token"],
  getOriginalUrl: (object) => {
    const record = JSON.parse(object.content ?? "{}");
    return typeof record.url === "string" && record.url ? record.url : undefined;
  },
  async *gather(ctx) {
    const config = parseConfig(ctx.source.config);
    const { text } = await ctx.http.getText(ctx.source.url, { headers: headers(config), signal: ctx.signal });
    const [header, ...lines] = text.split(/\r?\n/).filter((l) => l.trim());
    const columns = splitLine(header ?? "", config.delimiter);
    const batch: GatheredRecord[] = [];
    for (const line of lines) {
      const values = splitLine(line, config.delimiter);
      const record = Object.fromEntries(columns.map((c, i) => [c, values[i] ?? ""]));
      if (!record.id) {
        await ctx.saveGatherError(`A line without an id was skipped: ${line.slice(0, 80)}`);
        continue;
      }
      batch.push({ guid: record.id, content: JSON.stringify(record), metadataModified: record.modified || undefined });
    }
    yield batch;
    ctx.reportListing({ complete: true });
  },
  // The content came with the listing: nothing to fetch.
  fetch: () => Promise.resolve(true),
  async import(ctx) {
    const record = JSON.parse(ctx.object.content ?? "{}");
    if (!record.title) {
      await ctx.saveObjectError(`Record ${ctx.object.guid} has no title`, "Import");
      return false;
    }
    return await ctx.catalog.createOrUpdateDataset({
      title: record.title,
      notes: record.description,
      url: record.url,
      owner_org: ctx.source.owner_org,
      tags: String(record.tags ?? "").split(";").map((t: string) => t.trim()).filter(Boolean).map((name: string) => ({
        name,
      })),
      extras: { csv_id: record.id, modified: record.modified },
    });
  },
};

/** A recipients hook: everyone who gets mails about CSV sources also copies the data team. */
function copyDataTeam(source: { type: string }, recipients: Recipient[]): Recipient[] {
  return source.type === "csv_catalog"
    ? [...recipients, { name: "Data team", email: "data-team@example.org" }]
    : recipients;
}

export default { harvesters: [csvCatalogHarvester], hooks: { recipients: [copyDataTeam] } };
