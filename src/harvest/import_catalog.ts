import type { Queryable, Tx } from "../db/mod.ts";
import { AuthorizationError, ValidationError } from "../errors/mod.ts";
import {
  ensureNameIsUnique,
  findPackage,
  insertPackages,
  markPackagesDeleted,
  mungeTitleToName,
  packageIdTaken,
  type PackageInput,
  PackageInputError,
  type PackageParsed,
  type PackageWrite,
  readPackageInput,
  readPackages,
  writePackage,
} from "../catalog/mod.ts";
import type { GroupRef, ImportCatalog, ImportContext } from "./interface.ts";
import type { ReportStatus } from "./dicts.ts";
import type { CkanTarget } from "../catalog/target.ts";
import { createOrReuseGroup, findGroup } from "../catalog/groups.ts";
import { datasetDiff, type FieldChange } from "../catalog/diff.ts";
import { currentPackageOf, type LinkedObject, linkedObjects, unlinkDataset } from "./objects.ts";

/** Fields the harvest layer adds to datasets; a remote's values for them describe the remote's harvest. */
const HARVEST_FIELDS = new Set(["harvest_object_id", "harvest_source_id", "harvest_source_title"]);

/** The linked objects of a lot's imports, read and locked in one statement; keyed by `linkKey`. */
export type LotLinks = Map<string, LinkedObject | undefined>;

const linkKey = (sourceId: string, guid: string) => `${sourceId}\u0000${guid}`;

/**
 * Reads the links of a lot's objects ahead of their imports, in one statement instead of one per
 * import. Each import takes its entry once (a second write of the same object updates what the first wrote).
 */
export async function readLotLinks(tx: Queryable, pairs: { sourceId: string; guid: string }[]): Promise<LotLinks> {
  const links: LotLinks = new Map(pairs.map((x) => [linkKey(x.sourceId, x.guid), undefined]));
  for (const row of (await linkedObjects(tx, pairs)).toReversed()) {
    // Reversed, so the first row of each pair (current first, then the newest) is the one kept.
    links.set(linkKey(row.harvest_source_id, row.guid), row);
  }
  return links;
}

/** A dataset create held back until its lot's statement: the write, and the name it was made from. */
interface HeldCreate {
  catalog: TxImportCatalog;
  write: PackageWrite;
  ideal: string;
}

/**
 * What the imports of one lot share inside its transaction: the dataset creates held back to be
 * written in one statement at the end (`flush`), and the groups looked up so far. A create whose
 * id or name turned out to be taken is written again on its own, as a lone import would.
 */
export class LotWrites {
  #held: HeldCreate[] = [];
  readonly #groups = new Map<string, GroupRef>();

  constructor(private readonly tx: Tx) {}

  hold(create: HeldCreate): void {
    this.#held.push(create);
  }

  holds(catalog: TxImportCatalog): boolean {
    return this.#held.some((h) => h.catalog === catalog);
  }

  async findGroup(idOrName: string, kind: "group" | "organization"): Promise<GroupRef | undefined> {
    const key = `${kind}\u0000${idOrName}`;
    const known = this.#groups.get(key);
    if (known) return known;
    // Only a group found is kept: one missing now may be created by a later import of the lot.
    const found = await findGroup(this.tx, idOrName, { kind });
    if (found) this.#groups.set(key, found);
    return found;
  }

  /** Writes the held creates: one statement for the lot, then one by one those that conflicted. */
  async flush(): Promise<void> {
    const held = this.#held;
    this.#held = [];
    if (held.length === 0) return;
    const written = await insertPackages(this.tx, held.map((h) => h.write));
    // The statement wrote at most the first create of each id; a later one with that id goes alone.
    const seen = new Set<string>();
    for (const h of held) {
      const first = !seen.has(h.write.id) && seen.add(h.write.id);
      if (!first || !written.has(h.write.id)) await h.catalog.createAlone(h.write, h.ideal);
    }
  }
}

/** The import's view of the catalog, bound to one object inside its transaction. */
export class TxImportCatalog implements ImportCatalog {
  /** What the import did, which decides the object's report status. */
  outcome: ReportStatus | undefined;
  /** The dataset this object becomes the current object of; written with the object's final state. */
  link: string | undefined;
  /** What an update changed in the dataset, field by field. */
  changes: FieldChange[] | undefined;

  constructor(
    private readonly tx: Tx,
    /** A connection outside the import's transaction, for groups that should exist whatever happens. */
    private readonly sql: Queryable,
    private readonly target: CkanTarget | undefined,
    private readonly ctx: Omit<ImportContext, "catalog">,
    private readonly contentHash: string | null,
    /** The lot's links read ahead, if the import runs in a lot. */
    private readonly links?: LotLinks,
    /** The lot's shared writes, if the import runs in a lot: its creates are then held until the end. */
    private readonly lot?: LotWrites,
  ) {}

  /** The dataset an earlier write of this import made, as a link to update. */
  async #written(packageId: string): Promise<LinkedObject | undefined> {
    const p = await findPackage(this.tx, packageId);
    return p && { package_id: p.id, current: true, content_hash: null, name: p.name, state: p.state };
  }

  /** The object this import's (source, guid) is linked to, from the lot's read-ahead the first time. */
  async #linked(): Promise<LinkedObject | undefined> {
    const { object, source } = this.ctx;
    const key = linkKey(source.id, object.guid);
    if (this.links?.has(key)) {
      const linked = this.links.get(key);
      this.links.delete(key);
      return linked;
    }
    return (await linkedObjects(this.tx, [{ sourceId: source.id, guid: object.guid }]))[0];
  }

  /** Writes the dataset just written locally to the target CKAN too, if there is one. */
  async #push(id: string, written?: Record<string, unknown>): Promise<void> {
    if (!this.target) return;
    const dict = written ?? (await readPackages(this.tx, [id]))[0];
    if (dict) await this.target.push(dict);
  }

  async findGroup(idOrName: string, kind: "group" | "organization"): Promise<GroupRef | undefined> {
    return this.lot ? await this.lot.findGroup(idOrName, kind) : await findGroup(this.tx, idOrName, { kind });
  }

  /**
   * The groups an organization's source may put datasets in: those its config's `default_groups`
   * names (checked against the saver's rights when it was saved); undefined for a source without an
   * organization, which only sysadmins manage and which may place datasets anywhere.
   */
  #allowedGroups(): Set<string> | undefined {
    if (!this.ctx.source.owner_org) return undefined;
    try {
      const config = JSON.parse(this.ctx.source.config || "{}");
      const groups = Array.isArray(config?.default_groups) ? config.default_groups : [];
      return new Set(groups.filter((g: unknown) => typeof g === "string"));
    } catch {
      return new Set();
    }
  }

  async createGroup(
    dict: { id?: string; name: string; title?: string; description?: string; image_url?: string },
    kind: "group" | "organization",
  ): Promise<GroupRef> {
    if (this.ctx.source.owner_org) {
      throw new AuthorizationError(
        `Cannot create the ${kind} ${dict.name}: source ${this.ctx.source.name} belongs to an organization, and only ` +
          `sources without one (which only sysadmins manage) may create organizations or groups`,
      );
    }
    // Created on its own, committed at once: concurrent imports of datasets in one new group would
    // otherwise deadlock on the group row held until each import commits.
    return await createOrReuseGroup(this.sql, kind, dict);
  }

  async createOrUpdateDataset(input: PackageInput): Promise<true | "unchanged"> {
    let pkg: PackageParsed;
    try {
      pkg = readPackageInput(input);
    } catch (error) {
      if (!(error instanceof PackageInputError)) throw error;
      const [[path, problem]] = error.issues as [[string, string]];
      const field = path || "package";
      throw new ValidationError({
        [field]: [`Invalid package with GUID ${this.ctx.object.guid}: ${field}: ${problem}`],
      });
    }
    pkg.extras = (pkg.extras ?? []).filter((e) => !HARVEST_FIELDS.has(e.key));
    const { object } = this.ctx;
    const tx = this.tx;
    // A second write of this import updates what the first wrote: that must be in the table.
    if (this.lot?.holds(this)) await this.lot.flush();
    // The current object of (source, guid), or else the last one whose dataset this source withdrew;
    // a second write of the same object updates the dataset its first write made.
    const linked = this.link ? await this.#written(this.link) : await this.#linked();
    const existing = linked?.current ? linked : undefined;
    const withdrawn = linked && !linked.current ? linked : undefined;
    if (
      existing && !this.ctx.forceImport && this.contentHash !== null && existing.content_hash === this.contentHash &&
      existing.state === "active"
    ) {
      return "unchanged";
    }
    // A source that belongs to an organization writes only into it, and only into the groups its
    // config names: whatever the harvester (a plugin, a stale config) asks for.
    const allowed = this.#allowedGroups();
    const groupIds: string[] = [];
    for (const g of pkg.groups ?? []) {
      const key = g.id ?? g.name;
      const found = key ? await this.findGroup(key, "group") : undefined;
      if (found && (!allowed || allowed.has(found.id) || allowed.has(found.name))) groupIds.push(found.id);
    }
    const ownerOrg = this.ctx.source.owner_org ??
      (pkg.owner_org ? (await this.findGroup(pkg.owner_org, "organization"))?.id ?? null : null);

    if (existing) {
      const { notOverwriteFields } = this.ctx.settings;
      const [local] = await readPackages(tx, [existing.package_id]);
      for (const field of notOverwriteFields) {
        if (local && field in local) (pkg as Record<string, unknown>)[field] = local[field];
      }
      await writePackage(tx, {
        id: existing.package_id,
        name: existing.name,
        pkg,
        ownerOrg,
        groupIds,
        create: false,
      });
      await unlinkDataset(tx, existing.package_id);
      this.link = existing.package_id;
      // What this update changed, field by field: the dataset's history and the job report read it.
      const [written] = await readPackages(tx, [existing.package_id]);
      if (local && written) this.changes = datasetDiff(local, written);
      await this.#push(existing.package_id, written);
      this.outcome ??= "updated";
      return true;
    }

    // A dataset this source withdrew earlier comes back under its old id and name.
    if (withdrawn) {
      await writePackage(tx, {
        id: withdrawn.package_id,
        name: withdrawn.name,
        pkg,
        ownerOrg,
        groupIds,
        create: false,
      });
      this.link = withdrawn.package_id;
      await this.#push(withdrawn.package_id);
      this.outcome = "added";
      return true;
    }
    // The remote id and the munged name when both are free (the common case: in a lot, one statement
    // for all its creates); else a fresh id and the name made unique as the original does.
    const write = {
      id: pkg.id ?? crypto.randomUUID(),
      name: mungeTitleToName(pkg.name || pkg.title || object.guid),
      pkg,
      ownerOrg,
      groupIds,
      create: true,
    };
    this.link = write.id;
    this.outcome = "added";
    // Held for the lot's statement, unless a target CKAN must see the dataset at once.
    if (this.lot && !this.target) this.lot.hold({ catalog: this, write, ideal: write.name });
    else await this.createAlone(write, write.name);
    return true;
  }

  /** Creates the dataset now, picking another id and name while the chosen ones are taken. */
  async createAlone(first: PackageWrite, ideal: string): Promise<void> {
    const tx = this.tx;
    let { id, name } = first;
    for (let attempt = 0;; attempt++) {
      if (await writePackage(tx, { ...first, id, name })) break;
      if (attempt >= 5) throw ValidationError.of("name", `Cannot write dataset ${name}: its name keeps being taken`);
      if (await packageIdTaken(tx, id)) id = crypto.randomUUID();
      const free = await ensureNameIsUnique(tx, ideal, { append: this.ctx.settings.nameAppend });
      if (!free) {
        throw ValidationError.of("name", `Cannot find a free name for "${ideal}": ${ideal}1 to ${ideal}999 are taken`);
      }
      name = free;
    }
    this.link = id;
    await this.#push(id);
  }

  async deleteDataset(): Promise<boolean> {
    const { object, source } = this.ctx;
    if (this.lot?.holds(this)) await this.lot.flush();
    const done = await withdrawDataset(this.tx, this.target, source.id, object.guid, object.id);
    if (done) this.outcome = "deleted";
    return done;
  }
}

/** Marks the dataset of (source, guid) deleted and its current object not current. */
export async function withdrawDataset(
  tx: Queryable,
  target: CkanTarget | undefined,
  sourceId: string,
  guid: string,
  objectId?: string,
) {
  const packageId = await currentPackageOf(tx, sourceId, guid);
  if (!packageId) return false;
  await markPackagesDeleted(tx, [packageId]);
  await unlinkDataset(tx, packageId, objectId);
  await target?.remove(packageId);
  return true;
}
