/**
 * Licence URIs and titles to CKAN licence ids. First CKAN's default register (ckan/model/license.py:
 * its ids, URLs and titles, which is what ckanext-dcat matches against), then the URIs portals
 * actually publish (Creative Commons, Open Data Commons, the EU's licence authority table, the US
 * public domain mark), as ckanext-datajson's table lists some of them. URIs are compared without
 * scheme, `www.`, trailing slash and case.
 *
 * @module
 */

/** CKAN's default licence register: id, URL, title. */
export const CKAN_LICENSES: readonly [id: string, url: string, title: string][] = [
  ["notspecified", "", "License not specified"],
  [
    "odc-pddl",
    "http://www.opendefinition.org/licenses/odc-pddl",
    "Open Data Commons Public Domain Dedication and License (PDDL)",
  ],
  ["odc-odbl", "http://www.opendefinition.org/licenses/odc-odbl", "Open Data Commons Open Database License (ODbL)"],
  ["odc-by", "http://www.opendefinition.org/licenses/odc-by", "Open Data Commons Attribution License"],
  ["cc-zero", "http://www.opendefinition.org/licenses/cc-zero", "Creative Commons CCZero"],
  ["cc-by", "http://www.opendefinition.org/licenses/cc-by", "Creative Commons Attribution"],
  ["cc-by-sa", "http://www.opendefinition.org/licenses/cc-by-sa", "Creative Commons Attribution Share-Alike"],
  ["gfdl", "http://www.opendefinition.org/licenses/gfdl", "GNU Free Documentation License"],
  ["other-open", "", "Other (Open)"],
  ["other-pd", "", "Other (Public Domain)"],
  ["other-at", "", "Other (Attribution)"],
  [
    "uk-ogl",
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "UK Open Government Licence (OGL)",
  ],
  ["cc-nc", "http://creativecommons.org/licenses/by-nc/2.0/", "Creative Commons Non-Commercial (Any)"],
  ["other-nc", "", "Other (Non-Commercial)"],
  ["other-closed", "", "Other (Not Open)"],
];

/** Published licence URIs beyond the register, each to the CKAN id that denotes it. */
const KNOWN_URIS: Record<string, string> = {
  "creativecommons.org/licenses/by/4.0": "cc-by",
  "creativecommons.org/licenses/by/3.0": "cc-by",
  "creativecommons.org/licenses/by/2.0": "cc-by",
  "creativecommons.org/licenses/by-sa/4.0": "cc-by-sa",
  "creativecommons.org/licenses/by-sa/3.0": "cc-by-sa",
  "creativecommons.org/publicdomain/zero/1.0": "cc-zero",
  "creativecommons.org/licenses/by-nc/4.0": "cc-nc",
  "creativecommons.org/licenses/by-nc/3.0": "cc-nc",
  "creativecommons.org/publicdomain/mark/1.0": "other-pd",
  "opendatacommons.org/licenses/by/1-0": "odc-by",
  "opendatacommons.org/licenses/by": "odc-by",
  "opendatacommons.org/licenses/odbl": "odc-odbl",
  "opendatacommons.org/licenses/odbl/1-0": "odc-odbl",
  "opendatacommons.org/licenses/pddl": "odc-pddl",
  "opendatacommons.org/licenses/pddl/1-0": "odc-pddl",
  "gnu.org/copyleft/fdl.html": "gfdl",
  "nationalarchives.gov.uk/doc/open-government-licence/version/3": "uk-ogl",
  "nationalarchives.gov.uk/doc/open-government-licence": "uk-ogl",
  "publications.europa.eu/resource/authority/licence/cc_by_4_0": "cc-by",
  "publications.europa.eu/resource/authority/licence/cc_bysa_4_0": "cc-by-sa",
  "publications.europa.eu/resource/authority/licence/cc0": "cc-zero",
  "publications.europa.eu/resource/authority/licence/cc_by_nc_4_0": "cc-nc",
  "publications.europa.eu/resource/authority/licence/odc_odbl": "odc-odbl",
  "publications.europa.eu/resource/authority/licence/odc_by": "odc-by",
  "publications.europa.eu/resource/authority/licence/odc_pddl": "odc-pddl",
  "publications.europa.eu/resource/authority/licence/ogl_3_0": "uk-ogl",
  "project-open-data.cio.gov/unknown-license/#v1-legacy/other-at": "other-at",
  "project-open-data.cio.gov/unknown-license/#v1-legacy/other-nc": "other-nc",
  "project-open-data.cio.gov/unknown-license/#v1-legacy/other-closed": "other-closed",
  "project-open-data.cio.gov/unknown-license/#v1-legacy/other-open": "other-open",
  "usa.gov/publicdomain/label/1.0": "us-pd",
};

/** A URI as compared: no scheme, no `www.`, no trailing slash, lower case. */
export function licenseKey(uri: string): string {
  return uri.trim().toLowerCase().replace(/^https?:\/\//, "").replace(/^www\./, "").replace(/\/+$/, "");
}

const BY_URI = new Map<string, string>([
  ...CKAN_LICENSES.filter(([, url]) => url).map(([id, url]) => [licenseKey(url), id] as [string, string]),
  ...Object.entries(KNOWN_URIS),
]);
const BY_TITLE = new Map(CKAN_LICENSES.map(([id, , title]) => [title.toLowerCase(), id]));
const IDS = new Set([...CKAN_LICENSES.map(([id]) => id), "us-pd"]);

/** The CKAN licence id a URI, a title or an id denotes; undefined when none is known. */
export function licenseIdFor(value: string | undefined): string | undefined {
  if (!value?.trim()) return undefined;
  const v = value.trim();
  if (IDS.has(v.toLowerCase())) return v.toLowerCase();
  return BY_URI.get(licenseKey(v)) ?? BY_TITLE.get(v.toLowerCase());
}
