/**
 * ISO 19139 (and ISO 19115-3) metadata read into plain values, then mapped onto a local dataset as
 * ckanext-spatial does: file identifier as guid, title, abstract, keywords as munged tags, parties,
 * dates, topic categories, licence and constraints, lineage, temporal extent, the bounding box as
 * the `spatial` GeoJSON extra, the online resources with protocols and guessed formats, and the
 * reference system. The mapping is a profile (`IsoProfile`), replaceable per source.
 *
 * @module
 */
import { mungeTag } from "../../catalog/names.ts";
import { licenseIdFor } from "../dcat/licenses.ts";
import { all, attr, first, text, texts, type XmlElement } from "./xml.ts";

export interface IsoParty {
  organisation: string;
  individual: string;
  position: string;
  email: string;
  role: string;
}

export interface IsoResource {
  url: string;
  protocol: string;
  name: string;
  description: string;
  function: string;
}

/** What a record says, in the names ckanext-spatial's `iso_values` use. */
export interface IsoValues {
  standard: "iso19139" | "iso19115-3";
  guid: string;
  title: string;
  abstract: string;
  metadataDate: string;
  metadataLanguage: string;
  resourceType: string;
  referenceDates: { type: string; value: string }[];
  parties: IsoParty[];
  contactEmail: string;
  frequency: string;
  keywords: string[];
  topicCategories: string[];
  useConstraints: string[];
  accessConstraints: string[];
  bbox: { west: string; east: string; south: string; north: string }[];
  temporalBegin: string[];
  temporalEnd: string[];
  lineage: string;
  referenceSystems: string[];
  resources: IsoResource[];
  formats: string[];
  browseGraphic: string;
  progress: string;
  serviceType: string;
  coupledResources: string[];
}

/** A mapping from a record's values to a dataset; `readValues` may be replaced too. */
export interface IsoProfile {
  name: string;
  /** The revision of the mapping, stored on each object (`reimport --stale-mapping`). */
  version: string;
  readValues?(root: XmlElement): IsoValues;
  toPackage(values: IsoValues, options: IsoMappingOptions, warn: (message: string) => void): Record<string, unknown>;
}

export interface IsoMappingOptions {
  defaultTags: string[];
  defaultExtras: Record<string, string>;
}

/** Is this root an ISO record (19139 `gmd:MD_Metadata`, also as `gmi:MI_Metadata`, or 19115-3 `mdb:MD_Metadata`)? */
export function isoStandard(root: XmlElement): IsoValues["standard"] | undefined {
  if (root.local !== "MD_Metadata" && root.local !== "MI_Metadata") return undefined;
  if (root.uri.startsWith("http://standards.iso.org/iso/19115/-3/mdb")) return "iso19115-3";
  if (root.uri === "http://www.isotc211.org/2005/gmd" || root.uri === "http://www.isotc211.org/2005/gmi") {
    return "iso19139";
  }
  return undefined;
}

/** gco:CharacterString or gmx:Anchor, as both carry text in ISO 19139. */
const CS = "gco:CharacterString|gmx:Anchor|gco3:CharacterString";
const IDENT = "gmd:identificationInfo/gmd:MD_DataIdentification|srv:SV_ServiceIdentification";

function party(p: XmlElement, iso3: boolean): IsoParty {
  if (iso3) {
    return {
      organisation: texts(p, `cit:party/cit:CI_Organisation/cit:name/${CS}`)[0] ?? "",
      individual: texts(p, `cit:party/cit:CI_Organisation/cit:individual/cit:CI_Individual/cit:name/${CS}`)[0] ??
        texts(p, `cit:party/cit:CI_Individual/cit:name/${CS}`)[0] ?? "",
      position: "",
      email: texts(p, `//cit:electronicMailAddress/${CS}`)[0] ?? "",
      role: attr(first(p, "cit:role/cit:CI_RoleCode"), "codeListValue") ?? text(first(p, "cit:role/cit:CI_RoleCode")),
    };
  }
  return {
    organisation: texts(p, `gmd:organisationName/${CS}`)[0] ?? "",
    individual: texts(p, `gmd:individualName/${CS}`)[0] ?? "",
    position: texts(p, `gmd:positionName/${CS}`)[0] ?? "",
    email: texts(p, `gmd:contactInfo/gmd:CI_Contact/gmd:address/gmd:CI_Address/gmd:electronicMailAddress/${CS}`)[0] ??
      "",
    role: attr(first(p, "gmd:role/gmd:CI_RoleCode"), "codeListValue") ?? text(first(p, "gmd:role/gmd:CI_RoleCode")),
  };
}

const code = (el: XmlElement | undefined) => attr(el, "codeListValue") || text(el);

/** Reads an ISO 19139 record's values. */
export function readIso19139(root: XmlElement): IsoValues {
  const ident = all(root, IDENT);
  const id = ident[0];
  const inIdent = (path: string) => id ? texts(id, path) : [];
  const citation = id && first(id, "gmd:citation/gmd:CI_Citation");
  const extents = id ? [...all(id, "gmd:extent/gmd:EX_Extent"), ...all(id, "srv:extent/gmd:EX_Extent")] : [];
  const online = all(
    root,
    "gmd:distributionInfo/gmd:MD_Distribution/gmd:transferOptions/gmd:MD_DigitalTransferOptions/gmd:onLine/gmd:CI_OnlineResource",
  );
  const constraints = id ? all(id, "gmd:resourceConstraints/*") : [];
  return {
    standard: "iso19139",
    guid: texts(root, `gmd:fileIdentifier/${CS}`)[0] ?? "",
    title: citation ? texts(citation, `gmd:title/${CS}`)[0] ?? "" : "",
    abstract: inIdent(`gmd:abstract/${CS}`)[0] ?? "",
    metadataDate: texts(root, "gmd:dateStamp/gco:DateTime|gco:Date")[0] ?? "",
    metadataLanguage: code(first(root, "gmd:language/gmd:LanguageCode")) ||
      (texts(root, `gmd:language/${CS}`)[0] ?? ""),
    resourceType: code(first(root, "gmd:hierarchyLevel/gmd:MD_ScopeCode")),
    referenceDates: citation
      ? all(citation, "gmd:date/gmd:CI_Date").map((d) => ({
        type: code(first(d, "gmd:dateType/gmd:CI_DateTypeCode")),
        value: texts(d, "gmd:date/gco:Date|gco:DateTime")[0] ?? "",
      })).filter((d) => d.value)
      : [],
    parties: [
      ...(id ? all(id, "gmd:pointOfContact/gmd:CI_ResponsibleParty") : []),
      ...(citation ? all(citation, "gmd:citedResponsibleParty/gmd:CI_ResponsibleParty") : []),
    ].map((p) => party(p, false)),
    contactEmail: texts(
      root,
      `gmd:contact/gmd:CI_ResponsibleParty/gmd:contactInfo/gmd:CI_Contact/gmd:address/gmd:CI_Address/gmd:electronicMailAddress/${CS}`,
    )[0] ?? "",
    frequency: id
      ? code(
        first(
          id,
          "gmd:resourceMaintenance/gmd:MD_MaintenanceInformation/gmd:maintenanceAndUpdateFrequency/gmd:MD_MaintenanceFrequencyCode",
        ),
      )
      : "",
    keywords: inIdent(`gmd:descriptiveKeywords/gmd:MD_Keywords/gmd:keyword/${CS}`),
    topicCategories: inIdent("gmd:topicCategory/gmd:MD_TopicCategoryCode"),
    useConstraints: constraints.flatMap((c) => texts(c, `gmd:useLimitation/${CS}`)),
    accessConstraints: constraints.flatMap((c) => [
      ...all(c, "gmd:accessConstraints/gmd:MD_RestrictionCode").map(code),
      ...texts(c, `gmd:otherConstraints/${CS}`),
    ]).filter(Boolean),
    bbox: extents.flatMap((e) => all(e, "gmd:geographicElement/gmd:EX_GeographicBoundingBox")).map((b) => ({
      west: texts(b, "gmd:westBoundLongitude/gco:Decimal")[0] ?? "",
      east: texts(b, "gmd:eastBoundLongitude/gco:Decimal")[0] ?? "",
      south: texts(b, "gmd:southBoundLatitude/gco:Decimal")[0] ?? "",
      north: texts(b, "gmd:northBoundLatitude/gco:Decimal")[0] ?? "",
    })),
    temporalBegin: extents.flatMap((e) => [
      ...texts(e, "gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/gml:TimePeriod/gml:beginPosition"),
      ...texts(
        e,
        "gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/gml:TimePeriod/gml:begin/gml:TimeInstant/gml:timePosition",
      ),
    ]),
    temporalEnd: extents.flatMap((e) => [
      ...texts(e, "gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/gml:TimePeriod/gml:endPosition"),
      ...texts(
        e,
        "gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/gml:TimePeriod/gml:end/gml:TimeInstant/gml:timePosition",
      ),
    ]),
    lineage: texts(root, `gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:lineage/gmd:LI_Lineage/gmd:statement/${CS}`)[0] ??
      "",
    referenceSystems: texts(
      root,
      `gmd:referenceSystemInfo/gmd:MD_ReferenceSystem/gmd:referenceSystemIdentifier/gmd:RS_Identifier/gmd:code/${CS}`,
    ),
    resources: online.map((o) => ({
      url: texts(o, "gmd:linkage/gmd:URL")[0] ?? "",
      protocol: texts(o, `gmd:protocol/${CS}`)[0] ?? "",
      name: texts(o, `gmd:name/${CS}`)[0] ?? "",
      description: texts(o, `gmd:description/${CS}`)[0] ?? "",
      function: code(first(o, "gmd:function/gmd:CI_OnLineFunctionCode")),
    })).filter((r) => r.url),
    formats: texts(
      root,
      `gmd:distributionInfo/gmd:MD_Distribution/gmd:distributionFormat/gmd:MD_Format/gmd:name/${CS}`,
    ),
    browseGraphic: inIdent(`gmd:graphicOverview/gmd:MD_BrowseGraphic/gmd:fileName/${CS}`)[0] ?? "",
    progress: id ? code(first(id, "gmd:status/gmd:MD_ProgressCode")) : "",
    serviceType: id ? texts(id, "srv:serviceType/gco:LocalName")[0] ?? "" : "",
    coupledResources: id ? all(id, "srv:operatesOn").map((o) => attr(o, "href") ?? "").filter(Boolean) : [],
  };
}

/** Reads an ISO 19115-3 record's values: the same fields, at their 19115-3 paths. */
export function readIso19115_3(root: XmlElement): IsoValues {
  const id = first(root, "mdb:identificationInfo/mri:MD_DataIdentification|srv:SV_ServiceIdentification");
  const citation = id && first(id, "mri:citation/cit:CI_Citation");
  const extents = id ? all(id, "mri:extent/gex:EX_Extent") : [];
  const online = all(
    root,
    "mdb:distributionInfo/mrd:MD_Distribution/mrd:transferOptions/mrd:MD_DigitalTransferOptions/mrd:onLine/cit:CI_OnlineResource",
  );
  const t = (el: XmlElement | undefined, path: string) => el ? texts(el, path) : [];
  return {
    standard: "iso19115-3",
    guid: texts(root, `mdb:metadataIdentifier/mcc:MD_Identifier/mcc:code/${CS}`)[0] ?? "",
    title: t(citation, `cit:title/${CS}`)[0] ?? "",
    abstract: t(id, `mri:abstract/${CS}`)[0] ?? "",
    metadataDate: all(root, "mdb:dateInfo/cit:CI_Date")
      .map((d) => texts(d, "cit:date/gco3:DateTime|gco3:Date")[0] ?? "").filter(Boolean).sort().at(-1) ?? "",
    metadataLanguage: code(first(root, "mdb:defaultLocale/lan:PT_Locale/lan:language/lan:LanguageCode")),
    resourceType: code(first(root, "mdb:metadataScope/mdb:MD_MetadataScope/mdb:resourceScope/mcc:MD_ScopeCode")),
    referenceDates: citation
      ? all(citation, "cit:date/cit:CI_Date").map((d) => ({
        type: code(first(d, "cit:dateType/cit:CI_DateTypeCode")),
        value: texts(d, "cit:date/gco3:Date|gco3:DateTime")[0] ?? "",
      })).filter((d) => d.value)
      : [],
    parties: (id ? all(id, "mri:pointOfContact/cit:CI_Responsibility") : []).map((p) => party(p, true)),
    contactEmail: all(root, "mdb:contact/cit:CI_Responsibility")
      .flatMap((c) => texts(c, `//cit:electronicMailAddress/${CS}`))[0] ?? "",
    frequency: id
      ? code(
        first(
          id,
          "mri:resourceMaintenance/mmi:MD_MaintenanceInformation/mmi:maintenanceAndUpdateFrequency/mmi:MD_MaintenanceFrequencyCode",
        ),
      )
      : "",
    keywords: t(id, `mri:descriptiveKeywords/mri:MD_Keywords/mri:keyword/${CS}`),
    topicCategories: t(id, "mri:topicCategory/mri:MD_TopicCategoryCode"),
    useConstraints: id ? all(id, "mri:resourceConstraints/*").flatMap((c) => texts(c, `mco:useLimitation/${CS}`)) : [],
    accessConstraints: id
      ? all(id, "mri:resourceConstraints/*").flatMap((c) => [
        ...all(c, "mco:accessConstraints/mco:MD_RestrictionCode").map(code),
        ...texts(c, `mco:otherConstraints/${CS}`),
      ]).filter(Boolean)
      : [],
    bbox: extents.flatMap((e) => all(e, "gex:geographicElement/gex:EX_GeographicBoundingBox")).map((b) => ({
      west: texts(b, "gex:westBoundLongitude/gco3:Decimal")[0] ?? "",
      east: texts(b, "gex:eastBoundLongitude/gco3:Decimal")[0] ?? "",
      south: texts(b, "gex:southBoundLatitude/gco3:Decimal")[0] ?? "",
      north: texts(b, "gex:northBoundLatitude/gco3:Decimal")[0] ?? "",
    })),
    temporalBegin: extents.flatMap((e) => texts(e, "//gml:beginPosition")),
    temporalEnd: extents.flatMap((e) => texts(e, "//gml:endPosition")),
    lineage: texts(root, `mdb:resourceLineage/mrl:LI_Lineage/mrl:statement/${CS}`)[0] ?? "",
    referenceSystems: texts(
      root,
      `mdb:referenceSystemInfo/mrs:MD_ReferenceSystem/mrs:referenceSystemIdentifier/mcc:MD_Identifier/mcc:code/${CS}`,
    ),
    resources: online.map((o) => ({
      url: texts(o, `cit:linkage/${CS}`)[0] ?? "",
      protocol: texts(o, `cit:protocol/${CS}`)[0] ?? "",
      name: texts(o, `cit:name/${CS}`)[0] ?? "",
      description: texts(o, `cit:description/${CS}`)[0] ?? "",
      function: code(first(o, "cit:function/cit:CI_OnLineFunctionCode")),
    })).filter((r) => r.url),
    formats: texts(root, `//mrd:MD_Format/mrd:formatSpecificationCitation/cit:CI_Citation/cit:title/${CS}`),
    browseGraphic: t(id, `mri:graphicOverview/mcc:MD_BrowseGraphic/mcc:fileName/${CS}`)[0] ?? "",
    progress: id ? code(first(id, "mri:status/mcc:MD_ProgressCode")) : "",
    serviceType: id ? t(id, "srv:serviceType/gco3:ScopedName")[0] ?? "" : "",
    coupledResources: id ? all(id, "srv:operatesOn").map((o) => attr(o, "href") ?? "").filter(Boolean) : [],
  };
}

/** The values of either standard. */
export function readIso(root: XmlElement): IsoValues {
  return isoStandard(root) === "iso19115-3" ? readIso19115_3(root) : readIso19139(root);
}

/** Protocols and URL patterns to a format, as ckanext-spatial's `guess_resource_format`. */
const PROTOCOL_FORMATS: [RegExp, string][] = [
  [/^ogc:wms/i, "WMS"],
  [/^ogc:wfs/i, "WFS"],
  [/^ogc:wcs/i, "WCS"],
  [/^ogc:wmts/i, "WMTS"],
  [/^ogc:wps/i, "WPS"],
  [/^ogc:csw/i, "CSW"],
  [/^ogc:kml|^glg:kml/i, "KML"],
  [/^ogc:gml/i, "GML"],
  [/^ogc:sos/i, "SOS"],
  [/^esri:|arcgis/i, "ArcGIS REST"],
  [/^tms$/i, "TMS"],
  [/^www:download.*ftp/i, "FTP"],
];
const SERVICE_URLS: [RegExp, string][] = [
  [/service=wms|\/wms\b/i, "WMS"],
  [/service=wfs|\/wfs\b/i, "WFS"],
  [/service=wcs|\/wcs\b/i, "WCS"],
  [/\/mapserver\b|\/featureserver\b|\/imageserver\b/i, "ArcGIS REST"],
];
const EXTENSIONS: Record<string, string> = {
  csv: "CSV",
  json: "JSON",
  geojson: "GeoJSON",
  xml: "XML",
  zip: "ZIP",
  kml: "KML",
  kmz: "KMZ",
  gml: "GML",
  shp: "SHP",
  tif: "GeoTIFF",
  tiff: "GeoTIFF",
  pdf: "PDF",
  xls: "XLS",
  xlsx: "XLSX",
  html: "HTML",
  htm: "HTML",
  gpkg: "GeoPackage",
  nc: "NetCDF",
  txt: "TXT",
  rdf: "RDF",
};

/** The format of an online resource: by protocol, then service URL patterns, then file extension. */
export function guessFormat(r: IsoResource): string {
  for (const [re, f] of PROTOCOL_FORMATS) if (re.test(r.protocol)) return f;
  for (const [re, f] of SERVICE_URLS) if (re.test(r.url)) return f;
  const path = (() => {
    try {
      return new URL(r.url).pathname;
    } catch {
      return r.url;
    }
  })();
  const ext = path.match(/\.([a-z0-9]+)$/i)?.[1]?.toLowerCase();
  return (ext && EXTENSIONS[ext]) ?? "";
}

/** The bounding box as the `spatial` extra (GeoJSON, as ckanext-spatial stores it), or why not. */
export function spatialExtra(b: IsoValues["bbox"][number]): { geojson?: string; problem?: string } {
  const [w, e, s, n] = [b.west, b.east, b.south, b.north].map(Number);
  if ([w, e, s, n].some((v) => !Number.isFinite(v))) {
    return { problem: `Error parsing bounding box value: ${JSON.stringify(b)}` };
  }
  if (w! < -180 || e! > 180 || s! < -90 || n! > 90 || s! > n!) {
    return { problem: `Bounding box out of range: west ${w}, east ${e}, south ${s}, north ${n}` };
  }
  if (w === e || s === n) return { geojson: JSON.stringify({ type: "Point", coordinates: [w, s] }) };
  return {
    geojson: JSON.stringify({ type: "Polygon", coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] }),
  };
}

/** The default mapping: ckanext-spatial's `get_package_dict`, without its bugs. */
export const ISO_DEFAULT_PROFILE: IsoProfile = {
  name: "iso19139",
  version: "2026-12-02",
  toPackage(v, options, warn) {
    const tags = [...new Set([...v.keywords, ...options.defaultTags].map(mungeTag).filter((t) => t.length > 1))]
      .map((name) => ({ name }));
    const extras: Record<string, string> = {
      guid: v.guid,
      spatial_harvester: "true",
      "metadata-standard": v.standard,
      "metadata-date": v.metadataDate,
      "metadata-language": v.metadataLanguage,
      "resource-type": v.resourceType,
      "spatial-reference-system": v.referenceSystems[0] ?? "",
      "dataset-reference-date": v.referenceDates.length ? JSON.stringify(v.referenceDates) : "",
      "contact-email": v.contactEmail,
      "frequency-of-update": v.frequency,
      "topic-category": v.topicCategories.length ? JSON.stringify(v.topicCategories) : "",
      progress: v.progress,
      licence: v.useConstraints.length ? JSON.stringify(v.useConstraints) : "",
      "access_constraints": v.accessConstraints.length ? JSON.stringify(v.accessConstraints) : "",
      lineage: v.lineage,
      "temporal-extent-begin": v.temporalBegin[0] ?? "",
      "temporal-extent-end": v.temporalEnd[0] ?? "",
      "graphic-preview-file": v.browseGraphic,
      "spatial-data-service-type": v.serviceType,
      "coupled-resource": v.coupledResources.length ? JSON.stringify(v.coupledResources) : "",
    };
    for (const d of v.referenceDates) {
      if (["creation", "publication", "revision"].includes(d.type)) extras[`${d.type}-date`] = d.value;
    }
    const parties = new Map<string, string[]>();
    for (const p of v.parties) {
      const name = p.organisation || p.individual;
      if (!name) continue;
      const roles = parties.get(name) ?? [];
      if (p.role && !roles.includes(p.role)) roles.push(p.role);
      parties.set(name, roles);
    }
    if (parties.size) {
      extras["responsible-party"] = JSON.stringify([...parties].map(([name, roles]) => ({ name, roles })));
    }
    const box = v.bbox[0];
    if (box) {
      extras["bbox-west-long"] = box.west;
      extras["bbox-east-long"] = box.east;
      extras["bbox-south-lat"] = box.south;
      extras["bbox-north-lat"] = box.north;
      const { geojson, problem } = spatialExtra(box);
      if (problem) warn(problem);
      if (geojson) extras.spatial = geojson;
      if (geojson?.includes('"Point"')) warn("Point extent defined instead of polygon");
    }
    const licenceUrl = v.useConstraints.find((c) => /^https?:\/\/\S+$/.test(c.trim()));
    if (licenceUrl) extras.licence_url = licenceUrl;
    for (const [k, value] of Object.entries(options.defaultExtras)) extras[k] ??= value;
    const licenseId = v.useConstraints.map((c) => licenseIdFor(c)).find(Boolean);
    const owner = v.parties.find((p) => p.role === "owner" || p.role === "custodian") ?? v.parties[0];
    const publisher = v.parties.find((p) => p.role === "publisher" || p.role === "distributor");
    return {
      title: v.title,
      notes: v.abstract,
      tags,
      ...(licenseId ? { license_id: licenseId } : {}),
      author: owner ? owner.organisation || owner.individual : "",
      author_email: owner?.email ?? "",
      maintainer: publisher ? publisher.organisation || publisher.individual : "",
      maintainer_email: publisher?.email ?? v.contactEmail,
      extras: Object.entries(extras).filter(([, value]) => value !== "").map(([key, value]) => ({ key, value })),
      resources: v.resources.map((r) => ({
        url: r.url,
        name: r.name || "Unnamed resource",
        description: r.description,
        format: guessFormat(r) || v.formats[0] || "",
        resource_locator_protocol: r.protocol,
        resource_locator_function: r.function,
      })),
    };
  },
};
