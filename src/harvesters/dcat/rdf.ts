/**
 * The `dcat_rdf` harvester: DCAT / DCAT-AP catalogs in RDF/XML, Turtle, JSON-LD or N-Triples, with
 * Hydra paging. Each dcat:Dataset is described as a stable JSON tree at gather (so an unchanged
 * record costs no import), and mapped onto a local dataset by a profile at import.
 *
 * @module
 */
import type { Store } from "n3";
import type { GatheredRecord, Harvester, ObjectInfo } from "../../harvest/interface.ts";
import { messageOf, NotModifiedError } from "../../errors/mod.ts";
import { type DcatProfile, describe, NS, type Tree, treeJson } from "./profile.ts";
import { dcatApProfile } from "./dcat_ap.ts";

/** The built-in profiles; `default` is the newest DCAT-AP. */
export const BUILTIN_PROFILES: DcatProfile[] = [dcatApProfile(3), dcatApProfile(2), dcatApProfile(1)];
export const DEFAULT_PROFILE = "dcat_ap_3";
import { detectFormat, parseRdf } from "./rdf_parse.ts";
import { parseDcatConfig, rdfConfigSchema } from "./config.ts";
import { importRecord, recordContent } from "./record.ts";

const ACCEPT = "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8, application/n-triples;q=0.7, " +
  "*/*;q=0.1";

/** The next page of a Hydra-paged catalog, if the page names one. */
function nextPage(store: Store, namedNode: (iri: string) => never): string | undefined {
  for (const p of ["nextPage", "next"]) {
    const [q] = store.getQuads(null, namedNode(`${NS.hydra}${p}`), null, null);
    if (q) return q.object.value;
  }
  return undefined;
}

function originalUrl(object: ObjectInfo): string | undefined {
  try {
    const tree = JSON.parse(object.content ?? "{}") as Tree;
    const landing = (tree["dcat:landingPage"] as Tree[] | undefined)?.[0]?.["@id"];
    const candidate = landing ?? tree["@id"] ?? object.guid;
    return typeof candidate === "string" && /^https?:\/\//.test(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
}

/** The `dcat_rdf` harvester; `profiles` adds or replaces mapping profiles (by name). */
export function dcatRdfHarvester(options: { profiles?: DcatProfile[] } = {}): Harvester {
  const profiles = new Map(
    [
      ...BUILTIN_PROFILES,
      { ...BUILTIN_PROFILES[0]!, name: "default" },
      ...(options.profiles ?? []),
    ].map((p) => [p.name, p]),
  );
  return {
    info: () => ({
      name: "dcat_rdf",
      title: "DCAT RDF",
      description: "Harvests DCAT and DCAT-AP catalogs in RDF/XML, Turtle, JSON-LD or N-Triples, following Hydra " +
        "paging, mapped as ckanext-dcat's default profile does",
      form_config_interface: "Text",
    }),
    validateConfig(config) {
      const parsed = parseDcatConfig(rdfConfigSchema, config);
      if (parsed.profile && !profiles.has(parsed.profile)) {
        throw new Error(`profile must be one of ${[...profiles.keys()].join(", ")}, not ${parsed.profile}`);
      }
      return config;
    },
    getOriginalUrl: (object) => originalUrl(object),
    mappingVersion(config) {
      try {
        const name = parseDcatConfig(rdfConfigSchema, config).profile ?? "default";
        const p = profiles.get(name) ?? profiles.get(DEFAULT_PROFILE)!;
        return `dcat_rdf/${p.name}@${p.version ?? "1"}`;
      } catch {
        return undefined;
      }
    },
    async *gather(ctx) {
      const config = parseDcatConfig(rdfConfigSchema, ctx.source.config);
      const { DataFactory, Store } = await import("n3"); // loaded on first use
      const namedNode = DataFactory.namedNode as (iri: string) => never;
      const maxPages = config.max_pages ?? 1000;
      const limitKb = config.max_record_kb ?? 1024;
      const visited = new Set<string>();
      let url: string | undefined = ctx.source.url;
      let complete = true;
      while (url) {
        if (visited.has(url)) {
          await ctx.saveGatherError(
            `Paging loop: ${url} was already read (after ${visited.size} page(s)); stopped. Records that vanished ` +
              `are not withdrawn after an incomplete listing`,
          );
          complete = false;
          break;
        }
        if (visited.size >= maxPages) {
          await ctx.saveGatherError(`Stopped after max_pages (${maxPages}) pages; next page: ${url}`);
          complete = false;
          break;
        }
        visited.add(url);
        let store: Store;
        try {
          // A one-document catalog is read conditionally: unchanged since the last error-free run, it
          // answers 304 and nothing is parsed. (A page of a paged catalog cannot stand for the others.)
          const previous = visited.size === 1 ? await ctx.documents.previous(url) : undefined;
          const validators = previous?.count === 1 ? previous.validators : undefined;
          const page = await ctx.http.getText(url, { headers: { Accept: ACCEPT }, signal: ctx.signal, validators });
          ctx.documents.remember(url, page.validators);
          const format = detectFormat(config.rdf_format, page.contentType, page.text);
          store = new Store(
            await parseRdf(page.text, format, url, config.remote_contexts ? ctx.http : undefined),
          );
        } catch (error) {
          if (error instanceof NotModifiedError) {
            // Unchanged: nothing to gather, and (the listing being unknown this time) nothing withdrawn.
            ctx.documents.notModified(url);
            ctx.log.info("{url} is not modified since the last run (HTTP 304)", { url });
            complete = false;
            break;
          }
          await ctx.saveGatherError(`Error reading catalog page ${url}: ${messageOf(error)}`);
          complete = false;
          break;
        }
        const records: GatheredRecord[] = [];
        for (const subject of store.getSubjects(namedNode(`${NS.rdf}type`), namedNode(`${NS.dcat}Dataset`), null)) {
          const tree = describe(store, subject);
          const identifier = (tree["dct:identifier"] as { "@value"?: string }[] | undefined)?.[0]?.["@value"];
          const guid = identifier ?? (subject.termType === "NamedNode" ? subject.value : undefined);
          if (!guid) {
            await ctx.saveGatherError(
              `A dataset on ${url} has neither dct:identifier nor a URI, so it cannot be followed between runs: ` +
                `skipped (title: ${(tree["dct:title"] as { "@value"?: string }[] | undefined)?.[0]?.["@value"]})`,
            );
            continue;
          }
          records.push({ guid, content: recordContent(treeJson(tree), limitKb) });
        }
        if (records.length) yield records;
        const next = nextPage(store, namedNode);
        url = next ? new URL(next, url).href : undefined;
      }
      ctx.reportListing({ complete });
    },
    fetch: () => Promise.resolve(true),
    async import(ctx) {
      const config = parseDcatConfig(rdfConfigSchema, ctx.source.config);
      const profile = profiles.get(config.profile ?? "default") ?? profiles.get(DEFAULT_PROFILE)!;
      return await importRecord(
        ctx,
        (tree, warn) => profile.toPackage(tree, warn) as Record<string, unknown>,
        config.default_tags,
      );
    },
  };
}
