/**
 * The `harvester` CLI: the original's commands and names, as thin adapters over the actions. Every
 * command acts as the site itself; errors print one line and exit non-zero.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { migrate } from "../db/mod.ts";
import {
  act,
  CliError,
  describeError,
  type GlobalOptions,
  note,
  out,
  shutdownSignal,
  withServices,
} from "./context.ts";
import { runConsumers, runScheduler } from "../harvest/consumers.ts";
import { heartbeat } from "../db/consumers.ts";
import { recoverDeadProcesses } from "../harvest/recovery.ts";
import { progressDisplay, summaryLine } from "./progress.ts";
import { metricsServer, parsePort, printJob, printJson, printSource } from "./print.ts";
import { accountCommands } from "./accounts.ts";
import { planCommands } from "./plan.ts";

/** Builds the command tree. `onError` receives the one-line message of a failed command. */
export function buildProgram() {
  const program = new Command("harvester")
    .description("Harvests dataset metadata from remote catalogs into the local catalog")
    .option("-c, --config <file>", "ini config file ([app:main] section, ckanext-harvest key names)")
    .option("--json", "print data as JSON, for scripts")
    .showHelpAfterError()
    .exitOverride();
  const globals = (cmd: { optsWithGlobals(): unknown }) => cmd.optsWithGlobals() as GlobalOptions;

  const db = program.command("db").description("Database schema commands");
  const upgrade = async (_: unknown, cmd: { optsWithGlobals(): unknown }) => {
    await withServices(globals(cmd), async ({ services }) => {
      const applied = await migrate(services.sql);
      out(applied.length ? `Applied migrations: ${applied.join(", ")}` : "Database schema is up to date");
    }, { migrate: true });
  };
  db.command("upgrade").description("Apply pending migrations (idempotent)").action(upgrade);
  program.command("initdb").description("Alias of `db upgrade`").action(upgrade);

  const source = program.command("source").description("Harvest source commands");
  source.command("create")
    .description("Create a harvest source")
    .argument("<name>")
    .argument("<url>")
    .argument("<type>", "harvester type, e.g. ckan")
    .argument("[title]")
    .argument("[active]", "accepted for compatibility; sources start active")
    .argument("[owner_org]")
    .argument("[frequency]", "MANUAL, MONTHLY, WEEKLY, BIWEEKLY, DAILY or ALWAYS", "MANUAL")
    .argument("[config]", "JSON config of the harvester")
    .option("--no-check-url", "do not check that the URL answers like the harvester's catalog")
    .action(async (name, url, type, title, _active, ownerOrg, frequency, config, opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const created = await act(ctx, "harvest_source_create", {
          name,
          url,
          source_type: type,
          title,
          owner_org: ownerOrg || undefined,
          frequency,
          config,
          check_url: opts.checkUrl,
        });
        if (globals(cmd).json) return printJson(created);
        out("Created new harvest source:");
        printSource(created);
        const all = await act(ctx, "harvest_source_list", {});
        out(`There are ${all.length} harvest sources`);
        if (frequency === "") {
          const job = await act(ctx, "harvest_job_create", { source_id: created.id });
          out(`A new harvest job ${job.id} has been created`);
        }
      });
    });
  source.command("show").description("Show a harvest source").argument("<id_or_name>").action(async (id, _o, cmd) => {
    await withServices(globals(cmd), async (ctx) => {
      const s = await act(ctx, "harvest_source_show", { id });
      if (globals(cmd).json) return printJson(s);
      printSource(s);
    });
  });

  const remove = async (id: string, cmd: { optsWithGlobals(): unknown }) => {
    await withServices(globals(cmd), async (ctx) => {
      const r = await act(ctx, "harvest_source_delete", { id });
      if (globals(cmd).json) return printJson(r);
      out(`Removed harvest source: ${id}`);
    });
  };
  source.command("remove").description("Deactivate a source (datasets, jobs and objects are kept)")
    .argument("<id_or_name>").action((id, _o, cmd) => remove(id, cmd));
  program.command("rmsource").description("Alias of `source remove`").argument("<id_or_name>")
    .action((id, _o, cmd) => remove(id, cmd));

  const clear = async (id: string, cmd: { optsWithGlobals(): unknown }) => {
    await withServices(globals(cmd), async (ctx) => {
      const r = await act(ctx, "harvest_source_clear", { id });
      if (globals(cmd).json) return printJson(r);
      out(`Cleared harvest source: ${id} (${r.datasets} dataset(s) purged)`);
    });
  };
  source.command("clear").description("Purge a source's datasets, jobs and objects; the source stays")
    .argument("<id_or_name>").action((id, _o, cmd) => clear(id, cmd));
  program.command("clearsource").description("Alias of `source clear`").argument("<id_or_name>")
    .action((id, _o, cmd) => clear(id, cmd));

  const clearHistory = async (id: string | undefined, cmd: { optsWithGlobals(): unknown }) => {
    await withServices(globals(cmd), async (ctx) => {
      if (id) {
        const r = await act(ctx, "harvest_source_job_history_clear", { id });
        if (globals(cmd).json) return printJson(r);
        out(`Cleared job history of harvest source: ${id} (${r.jobs} job(s) deleted)`);
      } else {
        const r = await act(ctx, "harvest_sources_job_history_clear", {});
        if (globals(cmd).json) return printJson(r);
        out(`Cleared job history for all harvest sources: ${r.length} source(s)`);
      }
    });
  };
  const keepCurrent = "accepted for compatibility; the objects that link datasets are always kept";
  source.command("clear-history").description(
    "Delete finished jobs and objects of a source (all sources without " +
      "one); datasets and their links stay",
  )
    .argument("[source_id_or_name]").option("-k, --keep-current [value]", keepCurrent)
    .action((id, _o, cmd) => clearHistory(id, cmd));
  program.command("clearsource_history").alias("clearsource-history").description("Alias of `source clear-history`")
    .argument("[source_id_or_name]").option("-k, --keep-current [value]", keepCurrent)
    .action((id, _o, cmd) => clearHistory(id, cmd));

  program.command("reindex").description("Refresh what searches and statuses read (harvest_sources_reindex)")
    .action(async (_o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const r = await act(ctx, "harvest_sources_reindex", {});
        if (globals(cmd).json) return printJson(r);
        out("Reindexed all harvest sources");
      });
    });

  program.command("clean-harvest-log").alias("clean_harvest_log")
    .description("Delete database log rows older than ckan.harvest.log_timeframe days")
    .action(async (_o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const r = await act(ctx, "harvest_log_clean", {});
        if (globals(cmd).json) return printJson({ deleted: r.deleted });
        out(`Deleted ${r.deleted} log row(s) older than ${r.days} days`);
      });
    });

  program.command("harvesters-info").alias("harvesters_info").description("List the registered harvesters")
    .action(async (_o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const infos = await act(ctx, "harvesters_info_show", {});
        if (globals(cmd).json) return printJson(infos);
        for (const h of infos) out(`${String(h.name).padEnd(12)} ${h.title}: ${h.description}`);
      });
    });

  program.command("sources").description("List harvest sources (add `all` to include inactive ones)")
    .argument("[all]").action(async (all, _o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const list = await act(ctx, "harvest_source_list", { only_active: all !== "all" });
        if (globals(cmd).json) return printJson(list);
        for (const s of list) {
          out(
            `${s.id}  ${String(s.name).padEnd(30)} ${String(s.source_type).padEnd(8)} ` +
              `${String(s.frequency).padEnd(8)} ${s.active ? "active" : "inactive"}  ${s.url}`,
          );
        }
        out(`${list.length} harvest source(s)`);
      });
    });

  accountCommands(program, globals);
  planCommands(program, globals);

  const deletions = program.command("deletions").description("Deletions held for an operator's approval")
    .argument("[source]", "list the held deletions of this source")
    .action(async (sourceName, _o, cmd) => {
      if (!sourceName) throw new CliError("source: Missing value (harvester deletions SOURCE)");
      await withServices(globals(cmd), async (ctx) => {
        const rows = await act(ctx, "harvest_source_pending_deletions", { id: sourceName });
        if (globals(cmd).json) return printJson(rows);
        for (const r of rows) out(`${r.guid}  ${r.name}  (${r.reason})`);
        out(`${rows.length} deletion(s) wait for approval`);
      });
    });
  for (const verb of ["approve", "reject"] as const) {
    deletions.command(verb).description(`${verb === "approve" ? "Approve" : "Reject"} held deletions of a source`)
      .argument("<source>").argument("[guids...]", "only these records (default: all)")
      .action(async (sourceName, guids, _o, cmd) => {
        await withServices(globals(cmd), async (ctx) => {
          const input = { id: sourceName, guids: guids.length ? guids : undefined };
          if (verb === "approve") {
            const r = await act(ctx, "harvest_source_deletions_approve", input);
            if (globals(cmd).json) return printJson(r);
            out(
              `Approved ${r.approved} deletion(s); ${r.withdrawn} dataset(s) withdrawn` +
                (r.still_listed ? `; ${r.still_listed} kept: the remote lists them again` : ""),
            );
          } else {
            const r = await act(ctx, "harvest_source_deletions_reject", input);
            if (globals(cmd).json) return printJson(r);
            out(`Rejected ${r.rejected} deletion(s); the datasets stay`);
          }
        });
      });
  }

  program.command("job").description("Create a harvest job for a source and queue it for gather")
    .argument("<source_id_or_name>").action(async (id, _o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const job = await act(ctx, "harvest_job_create", { source_id: id });
        if (globals(cmd).json) return printJson(job);
        out(`Created harvest job ${job.id} (status ${job.status}); a gather consumer will pick it up`);
      });
    });

  program.command("jobs").description("List harvest jobs, newest first").argument("[source_id_or_name]")
    .option("--limit <n>", "jobs to show", "100")
    .action(async (id, opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const jobs = await act(ctx, "harvest_job_list", { source_id: id, limit: opts.limit });
        if (globals(cmd).json) return printJson(jobs);
        for (const j of jobs) printJob(j);
        out(`${jobs.length} job(s)`);
      });
    });

  program.command("job-abort").alias("job_abort")
    .description("Stop a job: a job id, or a source id or name for its newest job")
    .argument("<source_or_job_id>").action(async (id, _o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const job = await act(ctx, "harvest_job_abort", { id });
        if (globals(cmd).json) return printJson(job);
        out(`Job status: ${job.status}`);
      });
    });

  const consumer = (name: string, alias: string, description: string, gather: boolean, fetch: boolean) => {
    program.command(name).alias(alias).description(description)
      .option(
        "--concurrency <n>",
        "lots of objects (ckan.harvest.fetch.lot_size each) fetched and imported at once",
        "4",
      )
      .option("--metrics-port <port>", "serve /metrics and /healthz of this process on this port")
      .action(async (opts, cmd) => {
        const concurrency = Number(opts.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
          throw new CliError(`--concurrency: must be an integer from 1 to 256, not ${opts.concurrency}`);
        }
        const metricsPort = parsePort(opts.metricsPort);
        await withServices(globals(cmd), async ({ services }) => {
          const signal = shutdownSignal();
          const beat = heartbeat(services.sql, name, signal, () => recoverDeadProcesses(services).then(() => {}));
          const metrics = metricsServer(services, metricsPort);
          note(`${name} started (queue: ${services.config.values["ckan.harvest.mq.type"]}, pid ${Deno.pid})`);
          await runConsumers(services, { gather, fetch, concurrency, signal });
          await beat;
          await metrics?.shutdown();
          note(`${name} stopped`);
        }, { longRunning: true, maxConnections: concurrency + 4 });
      });
  };
  consumer("gather-consumer", "gather_consumer", "Consume the gather queue: run the gather stage of jobs", true, false);
  consumer("fetch-consumer", "fetch_consumer", "Consume the fetch queue: fetch and import objects", false, true);
  consumer("worker", "consumers", "Consume both queues in one process (gather and fetch)", true, true);

  program.command("scheduler")
    .description("Run the tick on a schedule (Deno.cron) and clean the log daily; safe to run on several machines")
    .option("--cron <expr>", "cron expression of the tick (default: ckan.harvest.scheduler.cron)")
    .option("--interval <seconds>", "tick every N seconds instead of a cron expression")
    .option("--metrics-port <port>", "serve /metrics and /healthz of this process on this port")
    .action(async (opts, cmd) => {
      const interval = opts.interval === undefined ? undefined : Number(opts.interval);
      if (interval !== undefined && (!Number.isFinite(interval) || interval < 1)) {
        throw new CliError(`--interval: must be a number of seconds, at least 1, not ${opts.interval}`);
      }
      const metricsPort = parsePort(opts.metricsPort);
      await withServices(globals(cmd), async ({ services }) => {
        const signal = shutdownSignal();
        const beat = heartbeat(services.sql, "scheduler", signal, () => recoverDeadProcesses(services).then(() => {}));
        const metrics = metricsServer(services, metricsPort);
        const cron = opts.cron ?? services.config.values["ckan.harvest.scheduler.cron"];
        note(`scheduler started: tick ${interval ? `every ${interval} s` : `at "${cron}"`} (pid ${Deno.pid})`);
        await runScheduler(services, { cron, intervalSeconds: interval, signal });
        await beat;
        await metrics?.shutdown();
        note("scheduler stopped");
      }, { longRunning: true });
    });

  program.command("run").description("Run the tick once: start due sources, finish jobs, time out, re-queue lost work")
    .action(async (_o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const r = await act(ctx, "harvest_jobs_run", {});
        if (globals(cmd).json) return printJson(r);
        out(
          `Started ${r.started.length} job(s), finished ${r.finished.length}, ` +
            `timed out ${r.timed_out.length}; re-queued ${r.requeued_jobs} gather(s) and ` +
            `${r.requeued_objects} object(s)`,
        );
      });
    });

  program.command("job-all").alias("job_all").description("Create a job for every active source")
    .action(async (_o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const jobs = await act(ctx, "harvest_job_create_all", {});
        if (globals(cmd).json) return printJson(jobs);
        out(`Created ${jobs.length} new harvest jobs`);
      });
    });

  program.command("abort-failed-jobs").alias("abort_failed_jobs")
    .description("Abort Running jobs older than their source's lifespan")
    .argument("[life_span]", "days, for MANUAL and ALWAYS sources", "7")
    .option("-i, --include <ids>", "only these sources (comma-separated ids or names)")
    .option("-e, --exclude <ids>", "not these sources (ignored with --include)")
    .action(async (lifeSpan, opts, cmd) => {
      if (!/^\d+$/.test(lifeSpan) || Number(lifeSpan) < 1) {
        throw new CliError(`life_span: must be a whole number of days, at least 1, not ${lifeSpan}`);
      }
      await withServices(globals(cmd), async (ctx) => {
        const r = await act(ctx, "harvest_abort_failed_jobs", {
          life_span: lifeSpan,
          include: opts.include,
          exclude: opts.exclude,
        });
        if (globals(cmd).json) return printJson(r);
        out(String(r));
      });
    });

  program.command("detect").description("Probe a URL and propose the harvester type and a starting config")
    .argument("<url>")
    .action(async (url, _o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const d = await act(ctx, "harvest_source_detect", { url });
        if (globals(cmd).json) return printJson(d);
        if (!d.source_type) throw new CliError(`${url}: ${d.reason}`);
        out(`${url}: ${d.source_type} (${d.reason})${d.registered ? "" : "; this service has no such harvester yet"}`);
        out(`config: ${JSON.stringify(d.config)}`);
      });
    });

  program.command("trim-history").description("Trim every source's history to the configured bounds")
    .action(async (_o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const r = await act(ctx, "harvest_history_trim", {});
        if (globals(cmd).json) return printJson(r);
        out(
          `Removed ${r.jobs} job(s), ${r.objects} object(s) and ${r.log_rows} log row(s) across ${r.sources} source(s)`,
        );
      });
    });

  program.command("purge-queues").alias("purge_queues").description("Remove every waiting message of both queues")
    .action(async (_o, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const r = await act(ctx, "harvest_queues_purge", {});
        if (globals(cmd).json) return printJson(r);
        out(`Purged ${r.gather} gather and ${r.fetch} fetch message(s)`);
      });
    });

  program.command("import").alias("reimport").description(
    "Re-run the import stage on stored objects (nothing is fetched)",
  )
    .argument("[source_id_or_name]")
    .option("-j, --no-join-datasets", "also objects whose dataset is missing or deleted")
    .option("-o, --harvest-object-id <id>", "only this object")
    .option("-p, --package-id <id_or_name>", "only the current object of this dataset")
    .option("-g, --guid <guid>", "only current objects with this guid (any source)")
    .option("--segments <hex>", "only objects whose md5(id) starts with one of these hex digits")
    .option("--stale-mapping", "only objects imported with another mapping than the harvester applies now")
    .action(async (source, opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const n = await act(ctx, "harvest_objects_import", {
          source_id: source,
          harvest_object_id: opts.harvestObjectId,
          package_id: opts.packageId,
          guid: opts.guid,
          join_datasets: opts.joinDatasets,
          segments: opts.segments,
          stale_mapping: opts.staleMapping,
        });
        if (globals(cmd).json) return printJson({ reimported: n });
        out(`${n} objects reimported`);
      });
    });

  program.command("run-test").alias("run_test")
    .description("Run gather, fetch and import of a source in this process, without the queues")
    .argument("<source_id_or_name>")
    .argument("[guid]", "only process records whose guid occurs here (also written force-import=GUID)")
    .option("--concurrency <n>", "lots of objects imported at once", "4")
    .action(async (id, guid, opts, cmd) => {
      await withServices(globals(cmd), async (ctx) => {
        const src = await act(ctx, "harvest_source_show", { id });
        const display = progressDisplay(src.name);
        const summary = await act({ ...ctx, onProgress: (p) => display.update(p) }, "harvest_source_run_test", {
          id: src.id,
          guid,
          concurrency: Number(opts.concurrency) || 4,
        }).finally(() => display.end());
        if (globals(cmd).json) return printJson(summary);
        for (const e of summary.gatherErrors) note(`Gather error: ${e}`);
        out(summaryLine(summary));
        if (summary.gatherErrors.length > 0 && summary.stats.added + summary.stats.updated === 0) {
          throw new CliError(`The harvest of ${src.name} failed: ${summary.gatherErrors[0]}`);
        }
      }, { maxConnections: 20 });
    });

  return program;
}

/** Runs the CLI with the given arguments; returns the exit code. */
/**
 * The seed's own form of the source command, `harvester source NAME URL TYPE [TITLE] ...` to create and
 * `harvester source NAME` to show, rewritten to `source create ...` / `source show NAME`; a name that is
 * one of the subcommands (`create`, `show`, ...) keeps its subcommand meaning.
 */
export function seedSourceForm(args: string[], subcommands: string[]): string[] {
  let i = 0;
  while (i < args.length && args[i]!.startsWith("-")) i += args[i] === "-c" || args[i] === "--config" ? 2 : 1;
  if (args[i] !== "source") return args;
  const next = args[i + 1];
  if (next === undefined || next.startsWith("-") || subcommands.includes(next)) return args;
  const positionals = args.slice(i + 1).filter((a) => !a.startsWith("--"));
  const verb = positionals.length === 1 ? "show" : "create";
  return [...args.slice(0, i + 1), verb, ...args.slice(i + 1)];
}

export async function runCli(args: string[]): Promise<number> {
  const program = buildProgram();
  const source = program.commands.find((c) => c.name() === "source");
  args = seedSourceForm(args, source ? [...source.commands.flatMap((c) => [c.name(), ...c.aliases()]), "help"] : []);
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help") return 0;
    if (typeof code === "string" && code.startsWith("commander.")) return 2;
    note(`Error: ${describeError(error)}`);
    if (Deno.env.get("HARVEST_DEBUG")) console.error(error);
    return 1;
  }
}
