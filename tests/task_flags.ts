/**
 * The permission flags of each product process, read from the deno.json tasks: the one definition that
 * the tests, the benchmarks, the Dockerfile, compose and the systemd units share (tests/deploy_test.ts
 * fails when one of them drifts). Product processes in tests start with exactly these flags, never -A.
 */
const ROOT = new URL("../", import.meta.url).pathname;

/** The processes a deno.json task starts. */
export type ProductTask = "serve" | "harvester" | "demo" | "healthcheck";

export interface TaskCommand {
  /** Everything between `deno run` and the script: permission and V8 flags. */
  flags: string[];
  /** The script, relative to the repository. */
  script: string;
}

/** Splits a task's `deno run FLAGS SCRIPT` into its flags and script. */
export function taskCommand(task: ProductTask): TaskCommand {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)) as { tasks: Record<string, string> };
  const line = config.tasks[task];
  if (!line) throw new Error(`deno.json has no task ${task}`);
  const words = line.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run") throw new Error(`task ${task} is not "deno run ...": ${line}`);
  const rest = words.slice(2);
  const at = rest.findIndex((w) => !w.startsWith("-"));
  if (at < 0) throw new Error(`task ${task} names no script: ${line}`);
  return { flags: rest.slice(0, at), script: rest[at]! };
}

/** Arguments for `Deno.Command(Deno.execPath(), { args })` that run a task's process as a user does. */
export function taskArgs(task: ProductTask, extra: string[] = []): string[] {
  const { flags, script } = taskCommand(task);
  return ["run", ...flags, `${ROOT}${script}`, ...extra];
}

/** The permission-relevant flags of a command line: `--allow-*`, `--deny-*` and `--v8-flags`. */
export function permissionFlags(words: string[]): string[] {
  return words.filter((w) => /^--(allow|deny)-|^--v8-flags=|^-A$|^--allow-all$/.test(w)); // allow-all: recognised, to be caught
}
