/**
 * `deno task compile`: the service's processes as `deno compile` binaries, each with its deno.json
 * task's permission and V8 flags baked in, and the files the code reads at run time (migrations, the
 * web UI's scripts, the DCAT-US schemas) embedded:
 *
 * - `dist/harvest-server`: the API server and web UI (`main.ts`, the `serve` task's flags);
 * - `dist/harvester`: the CLI (`cli.ts`, the `harvester` task's flags);
 * - `dist/harvest-worker`: the CLI with `worker` baked in as its first argument (a worker process).
 *
 * `deno compile` downloads the `denort` runtime for the target on first use, so this runs on a
 * machine with internet access (a release runner); `--print` only prints the commands, and
 * `--target` cross-compiles (e.g. `aarch64-unknown-linux-gnu`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type ProductTask, taskCommand } from "../tests/task_flags.ts";

/** Directories the code reads at run time, relative to the repository, embedded in every binary. */
export const INCLUDE = ["migrations/", "src/web/static/", "src/harvesters/dcat/schemas/"];

export const BINARIES: { name: string; task: ProductTask; args: string[] }[] = [
  { name: "harvest-server", task: "serve", args: [] },
  { name: "harvester", task: "harvester", args: [] },
  { name: "harvest-worker", task: "harvester", args: ["worker"] },
];

/** The `deno compile` command line of each binary. */
export function compileCommands(target?: string): { name: string; command: string[] }[] {
  return BINARIES.map((b) => {
    const { flags, script } = taskCommand(b.task);
    return {
      name: b.name,
      command: [
        "deno",
        "compile",
        "--frozen",
        ...flags,
        ...INCLUDE.flatMap((dir) => ["--include", dir]),
        ...(target ? ["--target", target] : []),
        "--output",
        `dist/${b.name}`,
        script,
        ...b.args,
      ],
    };
  });
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { print: { type: "boolean" }, target: { type: "string" } } });
  const commands = compileCommands(values.target);
  if (values.print) {
    for (const c of commands) console.log(c.command.join(" "));
    Deno.exit(0);
  }
  for (const c of commands) {
    console.log(`Building dist/${c.name}: ${c.command.join(" ")}`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: c.command.slice(1),
      cwd: new URL("../", import.meta.url).pathname,
      stdout: "inherit",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    if (!out.success) {
      console.error(err.trim());
      if (/denort|download|dl\.deno\.land|failed to fetch/i.test(err)) {
        console.error(
          "deno compile downloads its runtime (denort) for the target and could not: build the binaries on a " +
            "machine with internet access (README, Deployment: binaries).",
        );
      }
      Deno.exit(1);
    }
  }
}
