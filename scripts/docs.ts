/**
 * The README's "Who may call what" table, printed from the actions' declared access rules
 * (src/actions/access.ts). `deno task docs` rewrites the table in README.md; the matrix test fails
 * when the README and the declarations differ.
 *
 * @module
 */
import { ACTIONS } from "../src/actions/mod.ts";
import { ROLES } from "../src/actions/access.ts";

/** The table's lines, one row per action in registry order. */
export function accessTable(): string {
  const names = [...ACTIONS.keys()];
  const first = Math.max("action".length, ...names.map((n) => n.length + 2));
  const widths = [
    first,
    ...ROLES.map((r) => Math.max(r.length, ...[...ACTIONS.values()].map((a) => a.access.row[r].length))),
  ];
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  const out = [line(["action", ...ROLES]), line(widths.map((w) => "-".repeat(w)))];
  for (const [name, action] of ACTIONS) out.push(line([`\`${name}\``, ...ROLES.map((r) => action.access.row[r])]));
  return out.join("\n");
}

const README = new URL("../README.md", import.meta.url);

/** The README with its table replaced by the one the declarations give. */
export function readmeWithTable(readme: string): string {
  const start = readme.indexOf("| action ");
  const end = readme.indexOf("\n\n", start);
  if (start < 0 || end < 0) throw new Error("README.md has no access table under 'Who may call what'");
  return readme.slice(0, start) + accessTable() + readme.slice(end);
}

if (import.meta.main) {
  const readme = await Deno.readTextFile(README);
  const updated = readmeWithTable(readme);
  if (Deno.args.includes("--check")) {
    if (updated !== readme) {
      console.error("README.md's access table differs from the declarations: run `deno task docs`");
      Deno.exit(1);
    }
  } else {
    await Deno.writeTextFile(README, updated);
    console.log(`Wrote the access table of ${ACTIONS.size} actions into README.md`);
  }
}
