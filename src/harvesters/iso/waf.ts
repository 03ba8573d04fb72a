/**
 * The `waf` and `single_doc` harvesters. A Web Accessible Folder is a directory listing of ISO XML
 * files (Apache, nginx, IIS or any page of links), read recursively. Change detection, cheapest first:
 * the listing's date of each file against the one stored last time (unchanged files are not fetched),
 * else a conditional GET with the ETag / Last-Modified the file had (304: not fetched again), else the
 * content hash. `single_doc` is one remote ISO document (the original's `doc` harvester).
 *
 * @module
 */
import { z } from "zod";
import type { GatherContext, GatheredRecord, Harvester } from "../../harvest/interface.ts";
import { messageOf, NotModifiedError } from "../../errors/mod.ts";
import { parseDcatConfig } from "../dcat/config.ts";
import type { IsoProfile } from "./iso19139.ts";
import { type IsoConfig, isoConfigFields, IsoMappings, type IsoValidator } from "./record.ts";

export const wafConfigSchema = z.strictObject({
  ...isoConfigFields,
  max_depth: z.number({ error: "max_depth must be a number of folder levels" }).int().min(0).max(50).optional(),
  max_folders: z.number({ error: "max_folders must be a number" }).int().min(1).max(100_000).optional(),
});
export const docConfigSchema = z.strictObject({ ...isoConfigFields });

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/** A date as directory listings write it (Apache, nginx, IIS), read as UTC; undefined when none. */
export function listingDate(line: string): Date | undefined {
  let m = line.match(/(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?/);
  if (m) return utc(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  m = line.match(/(\d{1,2})-([A-Za-z]{3})-(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?/);
  if (m) {
    const month = MONTHS.indexOf(m[2]!.toLowerCase()) + 1;
    if (month > 0) return utc(+m[3]!, month, +m[1]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  }
  // IIS: "Monday, December 1, 2026 10:22 AM" or "12/1/2026 10:22 AM".
  m = line.match(/([A-Za-z]{3,9})\s+(\d{1,2}),\s+(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?/i);
  if (m) {
    const month = MONTHS.indexOf(m[1]!.slice(0, 3).toLowerCase()) + 1;
    if (month > 0) return utc(+m[3]!, month, +m[2]!, hour12(+m[4]!, m[7]), +m[5]!, +(m[6] ?? 0));
  }
  m = line.match(/(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?/i);
  if (m) return utc(+m[3]!, +m[1]!, +m[2]!, hour12(+m[4]!, m[7]), +m[5]!, +(m[6] ?? 0));
  return undefined;
}

function hour12(h: number, ampm: string | undefined): number {
  if (!ampm) return h;
  const pm = ampm.toUpperCase() === "PM";
  return h === 12 ? (pm ? 12 : 0) : pm ? h + 12 : h;
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number): Date | undefined {
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) || date.getUTCDate() !== d ? undefined : date;
}

export interface ListingEntry {
  url: string;
  folder: boolean;
  modified?: Date;
}

/**
 * The links of a directory listing under `base`: sub-folders (links ending in `/`) and XML files,
 * each with the date written on its line. Links that leave the folder (parents, other sites, sort
 * orders such as Apache's `?C=M;O=A`) are left out.
 */
export function parseListing(html: string, base: string): ListingEntry[] {
  const baseUrl = new URL(base);
  const out = new Map<string, ListingEntry>();
  for (const line of html.split(/\r?\n|<br\s*\/?>|<\/tr>|<\/li>|<\/pre>/i)) {
    for (const m of line.matchAll(/<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>/gi)) {
      const href = (m[1] ?? m[2] ?? m[3] ?? "").replace(/&amp;/g, "&").trim();
      if (!href || href.startsWith("?") || href.startsWith("#") || /^(mailto|javascript):/i.test(href)) continue;
      let url: URL;
      try {
        url = new URL(href, baseUrl);
      } catch {
        continue;
      }
      url.hash = "";
      if (url.origin !== baseUrl.origin || url.search || !url.pathname.startsWith(baseUrl.pathname)) continue;
      if (url.pathname === baseUrl.pathname) continue;
      const folder = url.pathname.endsWith("/");
      if (!folder && !/\.xml$/i.test(url.pathname)) continue;
      // The date on the line, outside the link's own text and address.
      const modified = listingDate(
        line.replace(m[0], " ").replace(/<a\s[^>]*>[^<]*<\/a>/gi, " ").replace(/<[^>]+>/g, " "),
      );
      out.set(url.href, { url: url.href, folder, modified });
    }
  }
  return [...out.values()];
}

const parseWaf = (text: string) => parseDcatConfig(wafConfigSchema, text);

/** The folder URL a WAF source names (a listing ends in `/`; `index.html` and the like are its page). */
function folderOf(url: string): string {
  const u = new URL(url);
  if (!u.pathname.endsWith("/")) u.pathname = u.pathname.replace(/[^/]*$/, "");
  u.search = "";
  return u.href;
}

/** Reads a file of the WAF conditionally; a 304 or an error answers what to yield. */
async function readFile(ctx: GatherContext, url: string): Promise<GatheredRecord | { error: string }> {
  const previous = await ctx.documents.previous(url);
  try {
    const page = await ctx.http.getText(url, { signal: ctx.signal, validators: previous.validators });
    ctx.documents.remember(url, page.validators);
    return { guid: url, content: page.text };
  } catch (error) {
    if (error instanceof NotModifiedError) {
      ctx.documents.notModified(url);
      return { guid: url, unchanged: true };
    }
    return { error: `Unable to get content for URL: ${url}: ${messageOf(error)}` };
  }
}

/** The `waf` harvester. */
export function wafHarvester(options: { profiles?: IsoProfile[]; validators?: IsoValidator[] } = {}): Harvester {
  const mappings = new IsoMappings(options);
  return {
    info: () => ({
      name: "waf",
      title: "Web Accessible Folder (WAF)",
      description: "Harvests the ISO 19139 XML files of a web folder (an Apache, nginx or IIS directory listing), " +
        "recursively; only files that changed are fetched again",
      form_config_interface: "Text",
    }),
    validateConfig(config) {
      mappings.check(parseWaf(config) as IsoConfig);
      return config;
    },
    mappingVersion: (config) => mappings.mappingVersion("waf", config, wafConfigSchema),
    getOriginalUrl: (object) => /^https?:\/\//.test(object.guid) ? object.guid : undefined,
    async *gather(ctx) {
      const config = parseWaf(ctx.source.config);
      const maxDepth = config.max_depth ?? 10;
      const maxFolders = config.max_folders ?? 10_000;
      const known = await ctx.currentRecords();
      const queue: { url: string; depth: number }[] = [{ url: folderOf(ctx.source.url), depth: 0 }];
      const visited = new Set<string>();
      let complete = true;
      while (queue.length) {
        const { url, depth } = queue.shift()!;
        if (visited.has(url)) continue;
        if (visited.size >= maxFolders) {
          await ctx.saveGatherError(`Stopped after max_folders (${maxFolders}) folders; not read: ${url}`);
          complete = false;
          break;
        }
        visited.add(url);
        let entries: ListingEntry[];
        try {
          const page = await ctx.http.getText(url, { signal: ctx.signal });
          entries = parseListing(page.text, url);
        } catch (error) {
          await ctx.saveGatherError(`Unable to read the folder listing ${url}: ${messageOf(error)}`);
          complete = false;
          continue;
        }
        for (const e of entries.filter((x) => x.folder)) {
          if (depth < maxDepth) queue.push({ url: e.url, depth: depth + 1 });
          else ctx.log.info("Not descending into {url}: deeper than max_depth {maxDepth}", { url: e.url, maxDepth });
        }
        const files = entries.filter((x) => !x.folder);
        let batch: GatheredRecord[] = [];
        // Files without a date on the listing are read here, a few at a time, conditionally.
        const undated = files.filter((f) => !f.modified);
        for (const f of files.filter((x) => x.modified)) {
          const before = known.get(f.url);
          batch.push({
            guid: f.url,
            metadataModified: f.modified!.toISOString(),
            unchanged: before !== undefined && before !== null && before.getTime() === f.modified!.getTime(),
          });
        }
        if (batch.length) yield batch;
        for (let i = 0; i < undated.length; i += 8) {
          batch = [];
          for (const r of await Promise.all(undated.slice(i, i + 8).map((f) => readFile(ctx, f.url)))) {
            if ("error" in r) {
              await ctx.saveGatherError(r.error);
              complete = false;
            } else batch.push(r);
          }
          if (batch.length) yield batch;
        }
      }
      ctx.reportListing({ complete });
    },
    async fetch(ctx) {
      if (ctx.object.content) return true;
      try {
        const page = await ctx.http.getText(ctx.object.guid, { signal: ctx.signal });
        ctx.setContent(page.text);
        return true;
      } catch (error) {
        await ctx.saveObjectError(`Unable to get content for URL: ${ctx.object.guid}: ${messageOf(error)}`, "Fetch");
        return false;
      }
    },
    import: async (ctx) => await mappings.importRecord(ctx, parseWaf(ctx.source.config) as IsoConfig),
  };
}

/** The md5 of the document's URL, the guid the original's doc harvester gives it. */
async function md5Hex(text: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash("md5").update(text).digest("hex");
}

/** The `single_doc` harvester. */
export function singleDocHarvester(
  options: { profiles?: IsoProfile[]; validators?: IsoValidator[] } = {},
): Harvester {
  const mappings = new IsoMappings(options);
  const parse = (text: string) => parseDcatConfig(docConfigSchema, text);
  return {
    info: () => ({
      name: "single_doc",
      title: "Single ISO document",
      description: "Harvests one remote ISO 19139 (or ISO 19115-3) XML document",
      form_config_interface: "Text",
    }),
    validateConfig(config) {
      mappings.check(parse(config) as IsoConfig);
      return config;
    },
    mappingVersion: (config) => mappings.mappingVersion("single_doc", config, docConfigSchema),
    getOriginalUrl: (_object, source) => source.url,
    async *gather(ctx) {
      const guid = await md5Hex(ctx.source.url);
      const read = await readFile(ctx, ctx.source.url);
      if ("error" in read) {
        await ctx.saveGatherError(read.error);
        return;
      }
      yield [{ ...read, guid }];
      ctx.reportListing({ complete: true });
    },
    fetch: () => Promise.resolve(true),
    import: async (ctx) => await mappings.importRecord(ctx, parse(ctx.source.config) as IsoConfig),
  };
}
