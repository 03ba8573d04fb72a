/**
 * The release binaries (`deno task compile`, scripts/compile.ts): each is built with exactly its
 * deno.json task's flags, embeds every file the code reads at run time, and the Dockerfile's release
 * stage ships them. `deno compile` downloads its runtime, which these machines cannot: the build is
 * run here up to that download, which shows the entry points and the include list resolve.
 */
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { permissionFlags, taskCommand } from "./task_flags.ts";
import { BINARIES, compileCommands, INCLUDE } from "../scripts/compile.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("each binary is compiled with its task's flags and entry point, and embeds every file read at run time", async () => {
  for (const { name, command } of compileCommands()) {
    const binary = BINARIES.find((b) => b.name === name)!;
    const task = taskCommand(binary.task);
    const at = command.indexOf(task.script);
    assert(at > 0, `${name} compiles ${task.script}`);
    assertEquals(command.slice(at + 1), binary.args, `${name}'s baked-in arguments`);
    const flags = permissionFlags(command.slice(2, at));
    assertEquals(flags, permissionFlags(task.flags), `${name}'s flags`);
    assert(!flags.includes("-A") && !flags.includes("--allow-all")); // allow-all: looked for, so a binary never gets it
  }
  assertEquals(BINARIES.find((b) => b.name === "harvest-worker")!.args, ["worker"]);

  // Every file the code opens relative to a module is under an included directory.
  const reads: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(`${ROOT}${dir}`)) {
      const path = `${dir}${e.name}`;
      if (e.isDirectory) await walk(`${path}/`);
      else if (/\.tsx?$/.test(e.name) && !e.name.endsWith("_test.ts")) {
        const text = await Deno.readTextFile(`${ROOT}${path}`);
        for (const m of text.matchAll(/new URL\(\s*"(\.[^"]+)",\s*import\.meta\.url\)/g)) {
          reads.push(new URL(m[1]!, `file://${ROOT}${path}`).pathname.slice(ROOT.length));
        }
        for (const m of text.matchAll(/"(\.\/schemas\/[^"]+)"/g)) {
          reads.push(new URL(m[1]!, `file://${ROOT}${path}`).pathname.slice(ROOT.length));
        }
      }
    }
  };
  await walk("src/");
  assert(reads.length >= 5, `found the run-time reads: ${reads}`);
  for (const file of reads) {
    assert(INCLUDE.some((dir) => file.startsWith(dir)), `${file} is read at run time but not embedded (INCLUDE)`);
    await Deno.stat(`${ROOT}${file}`);
  }
});

Deno.test("deno task compile gets as far as the runtime download, which needs a machine with internet access", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (out.success) {
    // A machine with internet access: the binaries exist (a release runner).
    for (const b of BINARIES) await Deno.stat(`${ROOT}dist/${b.name}`);
    return;
  }
  assertMatch(text, /Compile main\.ts to dist\/harvest-server/, "the module graph and the includes were built");
  assertMatch(text, /denort/);
  assertMatch(text, /build the binaries on a machine with internet access/);
});

Deno.test("the Dockerfile's release stage builds the binaries with deno task compile and ships exactly them", () => {
  const dockerfile = Deno.readTextFileSync(`${ROOT}Dockerfile`);
  const stage = dockerfile.slice(dockerfile.indexOf("AS build"), dockerfile.indexOf("# --- The default image"));
  assertMatch(stage, /RUN deno task compile/);
  const copied = stage.match(/COPY --from=build (.+) \/usr\/local\/bin\//)![1]!.split(" ");
  assertEquals(copied, BINARIES.map((b) => `/app/dist/${b.name}`));
  assertMatch(stage, /CMD \["harvest-server"\]/);
});
