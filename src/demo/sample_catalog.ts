/**
 * A deterministic, realistic sample CKAN catalog: organizations, groups and datasets with tags,
 * extras and resources. The same seed always gives the same catalog, byte for byte, so a second
 * harvest of it finds nothing modified.
 */

export interface SampleOrg {
  id: string;
  name: string;
  title: string;
  description: string;
  image_url: string;
}

export interface SampleCatalog {
  organizations: SampleOrg[];
  groups: SampleOrg[];
  datasets: Record<string, unknown>[];
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stable UUID-shaped id from a label. */
function stableId(label: string, rand: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16)).join("");
  void label;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const ORGS = [
  ["city-of-riverton", "City of Riverton", "Open data published by the City of Riverton council."],
  ["national-statistics-office", "National Statistics Office", "Official statistics on population and economy."],
  ["environment-agency", "Environment Agency", "Air, water and land monitoring data."],
  ["department-of-transport", "Department of Transport", "Roads, rail, public transport and road safety."],
  ["public-health-institute", "Public Health Institute", "Health surveillance and healthcare services."],
  ["ministry-of-education", "Ministry of Education", "Schools, enrolment and attainment data."],
  ["geological-survey", "Geological Survey", "Geology, boreholes and natural hazards."],
] as const;

const GROUPS = [
  ["environment", "Environment"],
  ["transport", "Transport"],
  ["health", "Health"],
  ["economy", "Economy"],
  ["society", "Society"],
  ["education", "Education"],
] as const;

const TOPICS = [
  ["Air quality measurements", ["air-quality", "pollution", "no2", "pm10"], "environment"],
  ["River water levels", ["water", "hydrology", "flooding"], "environment"],
  ["Road traffic counts", ["traffic", "roads", "mobility"], "transport"],
  ["Bus stop locations", ["public-transport", "bus", "gtfs"], "transport"],
  ["Hospital admissions", ["hospitals", "admissions", "health-care"], "health"],
  ["Vaccination coverage", ["vaccination", "immunisation", "children"], "health"],
  ["Population estimates", ["population", "census", "demography"], "society"],
  ["Household income", ["income", "households", "poverty"], "economy"],
  ["Business registrations", ["business", "companies", "enterprise"], "economy"],
  ["School enrolment", ["schools", "enrolment", "pupils"], "education"],
  ["Exam results", ["exams", "attainment", "secondary-education"], "education"],
  ["Borehole records", ["geology", "boreholes", "groundwater"], "environment"],
  ["Earthquake catalogue", ["earthquakes", "seismology", "hazards"], "environment"],
  ["Road accidents", ["road-safety", "accidents", "casualties"], "transport"],
  ["Street tree inventory", ["trees", "urban-forest", "green-space"], "environment"],
  ["Building permits", ["planning", "permits", "construction"], "economy"],
] as const;

const PLACES = ["Riverton", "Northfield", "Eastport", "Westbrook", "Southvale", "Lakeside", "Hillcrest", "Bayview"];
const FORMATS = [
  ["CSV", "text/csv"],
  ["JSON", "application/json"],
  ["XLSX", "application/vnd.ms-excel"],
  [
    "GeoJSON",
    "application/geo+json",
  ],
  ["PDF", "application/pdf"],
  ["API", ""],
] as const;
const LICENSES = ["cc-by", "cc-by-sa", "odc-odbl", "cc-zero", "uk-ogl"];
const FREQUENCY = ["daily", "weekly", "monthly", "quarterly", "annual"];

/** Builds the sample catalog. `count` datasets (default 520) spread over 7 organizations and 6 groups. */
export function sampleCatalog(options: { count?: number; seed?: number; host?: string } = {}): SampleCatalog {
  const rand = mulberry32(options.seed ?? 20261123);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const host = options.host ?? "https://data.example.org";
  const organizations = ORGS.map(([name, title, description]) => ({
    id: stableId(name, rand),
    name,
    title,
    description,
    image_url: "",
  }));
  const groups = GROUPS.map(([name, title]) => ({
    id: stableId(name, rand),
    name,
    title,
    description: `Datasets about ${title.toLowerCase()}.`,
    image_url: "",
  }));
  const count = options.count ?? 520;
  const base = Date.UTC(2024, 0, 1);
  const datasets: Record<string, unknown>[] = [];
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    const [topic, tags, groupName] = pick(TOPICS);
    const place = pick(PLACES);
    const year = 2015 + Math.floor(rand() * 10);
    const org = pick(organizations);
    const id = stableId(`d${i}`, rand);
    const title = `${topic} for ${place} ${year}${i >= TOPICS.length * PLACES.length ? ` (series ${i})` : ""}`;
    let name = title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    if (names.has(name)) name = `${name}-${i}`;
    names.add(name);
    const created = new Date(base + Math.floor(rand() * 300) * 86_400_000);
    const modified = new Date(created.getTime() + Math.floor(rand() * 200) * 86_400_000);
    const group = groups.find((g) => g.name === groupName)!;
    const nres = 1 + Math.floor(rand() * 3);
    const resources = Array.from({ length: nres }, (_, r) => {
      const [format, mimetype] = pick(FORMATS);
      return {
        id: stableId(`r${i}-${r}`, rand),
        package_id: id,
        name: `${topic} ${year}${r ? ` part ${r + 1}` : ""}`,
        description: `${format} extract of ${topic.toLowerCase()} in ${place}.`,
        format,
        mimetype: mimetype || null,
        url: `${host}/files/${name}/${r}.${format.toLowerCase()}`,
        size: 1000 + Math.floor(rand() * 5_000_000),
        created: created.toISOString().replace("Z", ""),
        last_modified: modified.toISOString().replace("Z", ""),
        position: r,
        url_type: r === 0 && rand() < 0.2 ? "upload" : null,
      };
    });
    datasets.push({
      id,
      name,
      title,
      notes: `${topic} recorded in ${place} during ${year}, published by ${org.title}. ` +
        `Updated ${pick(FREQUENCY)}. Figures are provisional until the annual review.`,
      url: `${host}/dataset/${name}`,
      version: `${year}.${1 + Math.floor(rand() * 4)}`,
      author: org.title,
      author_email: `opendata@${org.name}.example.org`,
      maintainer: "Open Data Team",
      maintainer_email: `opendata@${org.name}.example.org`,
      license_id: pick(LICENSES),
      license_title: null,
      owner_org: org.id,
      organization: { ...org, type: "organization", is_organization: true, state: "active" },
      private: false,
      state: "active",
      type: "dataset",
      metadata_created: created.toISOString().replace("Z", ""),
      metadata_modified: modified.toISOString().replace("Z", ""),
      tags: [...tags, place.toLowerCase()].map((t) => ({
        name: t,
        display_name: t,
        state: "active",
        vocabulary_id: null,
      })),
      groups: [{
        id: group.id,
        name: group.name,
        title: group.title,
        display_name: group.title,
        description: group.description,
        image_display_url: "",
      }],
      extras: [
        { key: "spatial_coverage", value: place },
        { key: "temporal_coverage", value: String(year) },
        { key: "update_frequency", value: pick(FREQUENCY) },
        ...(rand() < 0.5 ? [{ key: "contact_phone", value: `+1 555 ${1000 + Math.floor(rand() * 8999)}` }] : []),
      ],
      resources,
      num_resources: resources.length,
      num_tags: tags.length + 1,
    });
  }
  return { organizations, groups, datasets };
}
