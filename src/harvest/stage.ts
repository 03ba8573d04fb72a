/**
 * What the gather and the fetch/import stages share: the harvester's view of a source, its parsed
 * config, and the content hash that decides "not modified".
 *
 * @module
 */
import type { SourceInfo } from "./interface.ts";
import type { SourceRow } from "./sources.ts";

export function sourceInfo(s: SourceRow): SourceInfo {
  return { id: s.id, name: s.name, title: s.title, url: s.url, type: s.type, config: s.config, owner_org: s.owner_org };
}

export function parseConfig(config: string): Record<string, unknown> {
  if (!config.trim()) return {};
  try {
    const parsed = JSON.parse(config);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** The hash that decides "not modified": the record's content together with the source config. */
export async function contentHash(config: string, content: string): Promise<string> {
  const bytes = new TextEncoder().encode(`${config}\n${content}`);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
