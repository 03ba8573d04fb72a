import { RemoteError } from "../errors/mod.ts";
import type { HttpClient } from "../http/mod.ts";

type Dict = Record<string, unknown>;

/** Fields of a local package dict that describe this service, not the dataset. */
const LOCAL_ONLY = [
  "num_resources",
  "num_tags",
  "harvest_object_id",
  "harvest_source_id",
  "harvest_source_title",
  "organization",
  "metadata_created",
  "metadata_modified",
  "search_vector",
];

/**
 * The `ckan` catalog target: every dataset the harvest writes locally is also written to a remote CKAN
 * through its action API (package_create / package_update / package_delete) with a sysadmin's token,
 * keeping the local id and name; organizations and groups are created there when missing. The local
 * copy stays the harvest's record (identity, change detection, deletions). A failed remote write
 * fails the import, which rolls back and is retried like any other.
 */
export class CkanTarget {
  #known = new Set<string>();

  constructor(
    private readonly http: HttpClient,
    private readonly base: string,
    private readonly token: string | undefined,
  ) {}

  async #call(action: string, payload: Dict): Promise<{ ok: boolean; status: number; result?: unknown; error?: Dict }> {
    const { status, body } = await this.http.postJson(
      `${this.base.replace(/\/+$/, "")}/api/3/action/${action}`,
      payload,
      { headers: this.token ? { Authorization: this.token } : {}, what: "the target CKAN" },
    );
    const envelope = body as { success?: boolean; result?: unknown; error?: Dict };
    if (typeof envelope?.success !== "boolean") {
      throw new RemoteError(`The target CKAN did not answer ${action} in CKAN's envelope (HTTP ${status})`);
    }
    return { ok: envelope.success, status, result: envelope.result, error: envelope.error };
  }

  async #ensureGroup(group: Dict, kind: "organization" | "group"): Promise<void> {
    const key = `${kind}:${group.name}`;
    if (this.#known.has(key)) return;
    const shown = await this.#call(`${kind}_show`, { id: group.name });
    if (!shown.ok) {
      const made = await this.#call(`${kind}_create`, {
        name: group.name,
        title: group.title ?? group.name,
        description: group.description ?? "",
      });
      if (!made.ok && !JSON.stringify(made.error).includes("already exists")) {
        throw new RemoteError(`Cannot create ${kind} ${group.name} on the target CKAN: ${JSON.stringify(made.error)}`);
      }
    }
    this.#known.add(key);
  }

  /** Creates or updates the dataset on the target. */
  async push(pkg: Dict): Promise<void> {
    const dict: Dict = { ...pkg };
    for (const k of LOCAL_ONLY) delete dict[k];
    const org = pkg.organization as Dict | null;
    if (org) {
      await this.#ensureGroup(org, "organization");
      dict.owner_org = org.name;
    }
    const groups = (pkg.groups as Dict[] | undefined) ?? [];
    for (const g of groups) await this.#ensureGroup(g, "group");
    dict.groups = groups.map((g) => ({ name: g.name }));
    dict.resources = ((pkg.resources as Dict[] | undefined) ?? []).map(({ package_id: _p, position: _o, ...r }) => r);
    const exists = (await this.#call("package_show", { id: pkg.id })).ok;
    const written = await this.#call(exists ? "package_update" : "package_create", dict);
    if (!written.ok) {
      throw new RemoteError(
        `The target CKAN refused ${exists ? "package_update" : "package_create"} of ${pkg.name}: ${
          JSON.stringify(written.error)
        }`,
      );
    }
  }

  /** Deletes the dataset on the target (a dataset already gone there is fine). */
  async remove(id: string): Promise<void> {
    const r = await this.#call("package_delete", { id });
    if (!r.ok && r.status !== 404) {
      throw new RemoteError(`The target CKAN refused package_delete of ${id}: ${JSON.stringify(r.error)}`);
    }
  }
}
