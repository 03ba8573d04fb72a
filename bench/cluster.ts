/**
 * Simulated hosts for the multi-host harness (issue 19): Linux network namespaces joined by veth pairs
 * to a bridge that lives in a namespace of its own, so every address exists only inside them and the
 * machine's own network is never touched. Needs root (`ip netns`).
 *
 * - `infra` runs PostgreSQL, Redis and RabbitMQ, listening on its address;
 * - `api` runs the API server; `remote` runs the remote catalog; `w1`..`wN` run workers and schedulers.
 *
 * The driver stays in the machine's namespace: it reaches PostgreSQL through its Unix socket (a file,
 * shared by every namespace) and starts, kills and cuts off hosts with `ip`.
 *
 * @module
 */

const PGBIN = (() => {
  for (const v of ["17", "16", "15"]) {
    try {
      Deno.statSync(`/usr/lib/postgresql/${v}/bin/postgres`);
      return `/usr/lib/postgresql/${v}/bin`;
    } catch { /* next */ }
  }
  return "/usr/lib/postgresql/15/bin";
})();

async function run(cmd: string[], options: { env?: Record<string, string>; allowFail?: boolean } = {}) {
  const out = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success && !options.allowFail) throw new Error(`${cmd.join(" ")} failed (${out.code}): ${text}`);
  return text;
}

export interface HostProc {
  host: string;
  label: string;
  child: Deno.ChildProcess;
  output: string;
  done: Promise<void>;
  /** Set when the process has ended (by itself, or killed). */
  ended?: number;
}

/** A set of simulated hosts on one bridge; `dispose` kills everything in them and removes them. */
export class Cluster implements AsyncDisposable {
  readonly prefix: string;
  readonly subnet: string;
  readonly dir: string;
  readonly hosts = new Map<string, string>();
  readonly procs: HostProc[] = [];
  #switch: string;

  constructor(readonly id: number = 0) {
    this.prefix = `hv${id}`;
    this.subnet = `10.77.${id}`;
    this.#switch = `${this.prefix}-sw`;
    this.dir = `/tmp/${this.prefix}-cluster`;
  }

  ns(host: string): string {
    return `${this.prefix}-${host}`;
  }

  address(host: string): string {
    const a = this.hosts.get(host);
    if (!a) throw new Error(`no host ${host}`);
    return a;
  }

  /** Creates the bridge and the hosts, `name` → last octet. */
  async create(hosts: Record<string, number>): Promise<void> {
    await this[Symbol.asyncDispose]();
    await Deno.mkdir(this.dir, { recursive: true });
    await run(["ip", "netns", "add", this.#switch]);
    await run(["ip", "-n", this.#switch, "link", "add", "br0", "type", "bridge"]);
    await run(["ip", "-n", this.#switch, "link", "set", "br0", "up"]);
    for (const [host, octet] of Object.entries(hosts)) {
      const ns = this.ns(host);
      const address = `${this.subnet}.${octet}`;
      await run(["ip", "netns", "add", ns]);
      await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
      // One end is the host's eth0, the other a port of the bridge.
      await run([
        "ip",
        "-n",
        ns,
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        `p-${host}`,
        "netns",
        this.#switch,
      ]);
      await run(["ip", "-n", this.#switch, "link", "set", `p-${host}`, "master", "br0", "up"]);
      await run(["ip", "-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
      await run(["ip", "-n", ns, "link", "set", "eth0", "up"]);
      this.hosts.set(host, address);
    }
  }

  /** Starts a command on a host; its output is kept. */
  spawn(host: string, label: string, cmd: string[], env: Record<string, string> = {}): HostProc {
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", this.ns(host), ...this.#named(host, cmd)],
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const proc: HostProc = { host, label, child, output: "", done: Promise.resolve() };
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        proc.output = (proc.output + chunk).slice(-200_000);
      }
    };
    proc.done = Promise.all([read(child.stdout), read(child.stderr)]).then(() => {});
    child.status.then(() => proc.ended = Date.now());
    this.procs.push(proc);
    return proc;
  }

  /** Runs a command on a host to its end. */
  exec(host: string, cmd: string[], env?: Record<string, string>): Promise<string> {
    return run(["ip", "netns", "exec", this.ns(host), ...this.#named(host, cmd)], { env });
  }

  /** The command with the host's own host name (a UTS namespace of its own), as its process ids show it. */
  #named(host: string, cmd: string[]): string[] {
    return ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host, ...cmd];
  }

  /** Every process in a host's namespace, killed at once (a machine that lost power). */
  async kill(host: string): Promise<number> {
    const pids = (await run(["ip", "netns", "pids", this.ns(host)], { allowFail: true })).split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch { /* gone */ }
    }
    return pids.length;
  }

  /** Stops (SIGSTOP) or continues (SIGCONT) every process of a host: a machine that froze and thawed. */
  async freeze(host: string, frozen: boolean): Promise<void> {
    const pids = (await run(["ip", "netns", "pids", this.ns(host)], { allowFail: true })).split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        Deno.kill(Number(pid), frozen ? "SIGSTOP" : "SIGCONT");
      } catch { /* gone */ }
    }
  }

  /** Cuts a host's link at the bridge: its packets go nowhere, its processes keep running. */
  async cut(host: string): Promise<void> {
    await run(["ip", "-n", this.#switch, "link", "set", `p-${host}`, "down"]);
  }

  async heal(host: string): Promise<void> {
    await run(["ip", "-n", this.#switch, "link", "set", `p-${host}`, "up"]);
  }

  /** PostgreSQL on `host`, on its address and on a Unix socket in the cluster's folder (for the driver). */
  async startPostgres(host: string, settings: string[] = []): Promise<{ url: (db: string) => string; socket: string }> {
    const data = `${this.dir}/pg`;
    await run(["mkdir", "-p", data]);
    await run(["chown", "postgres", data, this.dir]);
    await run(["runuser", "-u", "postgres", "--", `${PGBIN}/initdb`, "-D", data, "-U", "postgres", "--auth=trust"]);
    await Deno.writeTextFile(`${data}/pg_hba.conf`, `local all all trust\nhost all all ${this.subnet}.0/24 trust\n`);
    const options = [
      `-c listen_addresses=${this.address(host)}`,
      `-k ${this.dir}`,
      "-p 5432",
      "-c max_connections=300",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      ...settings.map((s) => `-c ${s}`),
    ].join(" ");
    await this.exec(host, [
      "runuser",
      "-u",
      "postgres",
      "--",
      `${PGBIN}/pg_ctl`,
      "-D",
      data,
      "-l",
      `${data}/server.log`,
      "-w",
      "-t",
      "60",
      "-o",
      options,
      "start",
    ]);
    return { url: (db) => `postgres://postgres@${this.address(host)}:5432/${db}`, socket: this.dir };
  }

  async startRedis(host: string): Promise<string> {
    await Deno.mkdir(`${this.dir}/redis`, { recursive: true });
    await this.exec(host, [
      "redis-server",
      "--bind",
      this.address(host),
      "--port",
      "6379",
      "--daemonize",
      "yes",
      // Reached from the other hosts, without a password: only inside the namespaces.
      "--protected-mode",
      "no",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      `${this.dir}/redis`,
      "--logfile",
      `${this.dir}/redis/server.log`,
    ]);
    return `redis://${this.address(host)}:6379`;
  }

  /** RabbitMQ on `host`, with its own epmd inside the namespace; guest may connect from the other hosts. */
  async startRabbit(host: string): Promise<string> {
    const base = `${this.dir}/rabbit`;
    await Deno.mkdir(base, { recursive: true });
    await Deno.writeTextFile(`${base}/rabbitmq.conf`, "loopback_users = none\n");
    await run(["chown", "-R", "rabbitmq:rabbitmq", base]);
    const env = {
      RABBITMQ_NODENAME: `${this.prefix}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: this.address(host),
      RABBITMQ_NODE_PORT: "5672",
      RABBITMQ_DIST_PORT: "25672",
      ERL_EPMD_ADDRESS: "127.0.0.1",
      RABBITMQ_MNESIA_BASE: `${base}/mnesia`,
      RABBITMQ_LOG_BASE: `${base}/log`,
      RABBITMQ_PID_FILE: `${base}/pid`,
      RABBITMQ_ENABLED_PLUGINS_FILE: `${base}/enabled_plugins`,
      RABBITMQ_CONFIG_FILE: `${base}/rabbitmq.conf`,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin:/usr/sbin:/sbin",
      HOME: Deno.env.get("HOME") ?? "/root",
    };
    await this.exec(host, ["rabbitmq-server", "-detached"], env);
    await this.exec(host, ["rabbitmqctl", "-q", "wait", `${base}/pid`, "--timeout", "120"], env);
    return `amqp://guest:guest@${this.address(host)}:5672`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const list = await run(["ip", "netns", "list"], { allowFail: true });
    const mine = list.split("\n").map((l) => l.split(" ")[0]!).filter((n) => n.startsWith(`${this.prefix}-`));
    for (const ns of mine) {
      const host = ns.slice(this.prefix.length + 1);
      if (host !== "sw") await this.kill(host);
    }
    await Promise.allSettled(this.procs.map((p) => p.child.status));
    for (const ns of mine) await run(["ip", "netns", "del", ns], { allowFail: true });
    await run(["rm", "-rf", this.dir], { allowFail: true });
    this.hosts.clear();
  }
}
