import { z } from "zod";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const optionalInt = (min: number, max: number) =>
  z.union([z.literal("").transform(() => undefined), int(min, max)]).optional();
const bool = z.union([z.boolean(), z.enum(["true", "false", "True", "False", "1", "0", "yes", "no", "on", "off"])])
  .transform((v) => v === true || ["true", "True", "1", "yes", "on"].includes(v as string));
const words = z.string().transform((v) => v.split(/[\s,]+/).filter((w) => w.length > 0));

/**
 * Every configuration key, with its schema, default and meaning. Keys use the original's names so an
 * operator's existing ini file keeps working; the README's configuration table is this list.
 */
export const CONFIG_KEYS = {
  "ckan.site_id": {
    schema: z.string().regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, '.', '_' or '-'"),
    default: "default",
    doc: "Namespaces queue names and keys; sites sharing a broker need distinct ids",
  },
  "ckan.site_url": {
    schema: z.url().optional(),
    default: undefined,
    doc: "Public base URL of this service, used in links printed and mailed (default http://HOST:PORT)",
  },
  "ckan.site_title": {
    schema: z.string(),
    default: "Harvest",
    doc: "Site title used in page headers and mail subjects",
  },
  "ckan.harvest.mq.type": {
    schema: z.enum(["postgres", "redis", "amqp", "ampq"]).transform((v) => v === "ampq" ? "amqp" : v),
    default: "postgres",
    doc: "Queue backend: postgres (table queue, default), redis or amqp (`ampq` is accepted)",
  },
  "ckan.harvest.mq.url": {
    schema: z.string().optional(),
    default: undefined,
    doc: "Broker URL (redis://... or amqp://...); overrides the host/port/user keys below",
  },
  "ckan.harvest.mq.hostname": {
    schema: z.string().optional(),
    default: undefined,
    doc: "Redis or RabbitMQ host (`localhost` when unset)",
  },
  "ckan.harvest.mq.port": {
    schema: optionalInt(1, 65535),
    default: undefined,
    doc: "Broker port; 6379 for redis, 5672 for amqp when unset",
  },
  "ckan.harvest.mq.user_id": { schema: z.string(), default: "guest", doc: "AMQP user" },
  "ckan.harvest.mq.password": {
    schema: z.string().optional(),
    default: undefined,
    doc: "Broker password (`guest` for amqp when unset)",
    secret: true,
  },
  "ckan.harvest.mq.virtual_host": { schema: z.string(), default: "/", doc: "AMQP virtual host" },
  "ckan.redis.url": {
    schema: z.string().regex(/^rediss?:\/\//, "a redis:// or rediss:// URL").optional(),
    default: undefined,
    doc: "CKAN's own Redis URL; used for the redis queue when neither ckan.harvest.mq.url nor " +
      "ckan.harvest.mq.hostname/port is set (as ckanext-harvest does)",
    secret: true,
  },
  "ckan.harvest.connect_timeout": {
    schema: int(1, 3600),
    default: 15,
    doc: "Seconds a command waits for PostgreSQL, the broker or the embedded database's holder before it " +
      "gives up with a message naming what it tried; long-running consumers keep retrying with backoff instead",
  },
  "ckan.harvest.embedded.shared_buffers": {
    schema: int(1, 4096),
    default: 128,
    doc: "MB of buffer cache the embedded database (PGlite, in the process that holds it) gives PostgreSQL; " +
      "its memory only grows, so this bounds much of what the engine adds to that process (32 saves about " +
      "100 MB of peak memory in a cold harvest of 20,000 datasets, at about a tenth of its speed)",
  },
  "ckan.harvest.all_in_one": {
    schema: z.enum(["auto", "true", "false"]),
    default: "auto",
    doc: "Whether `serve` also runs the gather and fetch consumers and the scheduler in its own process: " +
      "`auto` does so on the embedded database only; `false` for deployments with separate workers",
  },
  "ckan.harvest.max_pages_per_job": {
    schema: int(1, 100_000_000),
    default: 100_000,
    doc: "Pages (batches) a job's gather may read before it stops with an error; a source's `max_pages` overrides",
  },
  "ckan.harvest.max_records_per_job": {
    schema: int(1, 1_000_000_000),
    default: 10_000_000,
    doc: "Records a job's gather may list before it stops with an error; a source's `max_records` overrides",
  },
  "ckan.harvest.max_record_mb": {
    schema: z.coerce.number().min(0.001).max(1000),
    default: 8,
    doc: "Largest record content kept, in MB; a larger record is an errored object, not stored; a source's " +
      "`max_record_mb` overrides",
  },
  "ckan.harvest.mq.redis_db": { schema: int(0, 1000), default: 0, doc: "Redis database number" },
  "ckan.harvest.mq.visibility_timeout": {
    schema: int(1, 86_400),
    default: 300,
    doc: "Seconds a delivered message, or an object being processed, may go unfinished before it is delivered " +
      "again (postgres and redis backends; RabbitMQ redelivers when the consumer's connection drops)",
  },
  "ckan.harvest.mq.retry_delay": {
    schema: int(0, 3600),
    default: 5,
    doc: "Seconds before a message whose handler failed (the database went away mid-lot) is delivered again; " +
      "the process gives up its leases on that work first",
  },
  "ckan.harvest.timeout": {
    schema: optionalInt(1, 10_000_000),
    default: undefined,
    doc: "Minutes without activity after which a running job is finished with a timeout error; unset = never",
  },
  "ckan.harvest.scheduler.cron": {
    schema: z.string().regex(/^\S+( \S+){4}$/, "a cron expression of 5 fields"),
    default: "* * * * *",
    doc: "When `harvester scheduler` runs the tick (cron syntax, UTC)",
  },
  "ckan.harvest.log_timeframe": {
    schema: int(1, 36500),
    default: 30,
    doc: "Days of database log kept by `clean-harvest-log` (and the scheduler's daily clean-up)",
  },
  "ckan.harvest.history.keep_jobs": {
    schema: int(1, 100000),
    default: 50,
    doc: "Finished jobs kept per source by the scheduler's daily history trim (`harvester trim-history`); jobs that " +
      "still hold a dataset's current object are always kept",
  },
  "ckan.harvest.history.keep_days": {
    schema: int(1, 36500),
    default: 90,
    doc: "Days of superseded (non-current) harvest objects kept by the history trim; current objects are always kept",
  },
  "ckan.harvest.consumer.dead_after": {
    schema: int(6, 3600),
    default: 10,
    doc: "Seconds without a heartbeat (every 3 s) after which a worker, consumer or scheduler counts as dead and the " +
      "work it held is queued again by the others",
  },
  "ckan.harvest.db.idle_in_transaction_timeout": {
    schema: int(0, 86_400),
    default: 30,
    doc: "Seconds PostgreSQL lets a session of this service sit idle inside a transaction before it ends the " +
      "session: a worker cut off mid-transaction (a network partition) then stops holding its rows' locks " +
      "after this long, not until TCP notices. 0 = never",
  },
  "ckan.harvest.fetch.lot_size": {
    schema: int(1, 1000),
    default: 25,
    doc: "Objects a fetch consumer imports in one transaction (a lot); a worker's `--concurrency` is the number of " +
      "lots it handles at once, so it holds up to concurrency × lot_size fetch messages",
  },
  "ckan.harvest.fast_lane.max_objects": {
    schema: int(0, 10_000_000),
    default: 1000,
    doc: "The fast lane's share of a job: the first this many objects of every job are queued on the fast lane, " +
      "which consumers serve before the bulk lane, and a scheduled run of a source whose last job had at most " +
      "this many objects is gathered from the fast lane (manual runs always are); 0 puts only manual gathers there",
  },
  "ckan.harvest.source_concurrency": {
    schema: int(0, 100_000),
    default: 0,
    doc: "Objects of one source queued or being fetched and imported at once, counted across every worker; the " +
      "rest wait in the database and are queued as earlier ones finish. A source's `concurrency` config " +
      "overrides it; 0 = no cap",
  },
  "ckan.harvest.gather.concurrency": {
    schema: int(1, 64),
    default: 2,
    doc: "Gathers one gather consumer runs at once, so that a small source's gather does not wait behind a big one",
  },
  "ckan.harvest.api.cache_entries": {
    schema: int(0, 1_000_000),
    default: 1000,
    doc: "Answers of read-only API actions kept in each server's memory, served while no write to what they " +
      "read has committed since, from any process (checked with one query per request); 0 turns the cache off",
  },
  "ckan.harvest.api.cache_max_age": {
    schema: int(0, 3600),
    default: 2,
    doc: "Seconds after which a cached API answer is made afresh even with nothing written (it is served once " +
      "more meanwhile): for what answers derive from the clock, such as stalled-worker warnings",
  },
  "ckan.harvest.plan.max_age_hours": {
    schema: int(1, 720),
    default: 24,
    doc: "How long a preview (`harvester plan`) may be applied after it was made (`harvester apply`)",
  },
  "ckan.harvest.log_scope": {
    schema: int(-1, 7),
    default: -1,
    doc: "What goes to the database log (`harvest_log_list`): -1 nothing, 0 everything, 1 jobs + actions + " +
      "harvesters, 2 jobs + consumers + actions, 3 jobs + actions, 4 actions, 5 jobs, 6 plugins, 7 harvesters",
  },
  "ckan.harvest.log_level": {
    schema: z.string().transform((v) => v.toLowerCase()).pipe(
      z.enum(["debug", "info", "warning", "error", "critical"]),
    ),
    default: "debug",
    doc: "Lowest level written to the database log: debug, info, warning, error or critical",
  },
  "ckan.harvest.status_mail.errored": {
    schema: bool,
    default: "false",
    doc: "Mail the source's recipients when a job finishes with errors",
  },
  "ckan.harvest.status_mail.all": {
    schema: bool,
    default: "false",
    doc: "Mail the source's recipients after every finished job (an error mail when it has errors, else a summary)",
  },
  "smtp.server": {
    schema: z.string().regex(/^[^\s:]+(:\d+)?$/, "expected host or host:port"),
    default: "localhost:25",
    doc: "SMTP server for status mails, `host` or `host:port` (port 465 means TLS from the start)",
  },
  "smtp.starttls": { schema: bool, default: "false", doc: "Require STARTTLS on the SMTP connection" },
  "smtp.user": { schema: z.string(), default: "", doc: "SMTP user name (empty: no authentication)" },
  "smtp.password": { schema: z.string(), default: "", doc: "SMTP password; never printed", secret: true },
  "smtp.mail_from": {
    schema: z.string().min(1),
    default: "harvest@localhost",
    doc: "Sender address of status mails",
  },
  "ckan.harvest.catalog.type": {
    schema: z.enum(["local", "ckan"]),
    default: "local",
    doc: "Where harvested datasets go: `local` (this service's catalog) or `ckan` (also written to a remote CKAN)",
  },
  "ckan.harvest.catalog.url": {
    schema: z.url().optional(),
    default: undefined,
    doc: "Base URL of the remote CKAN when `ckan.harvest.catalog.type = ckan`",
  },
  "ckan.harvest.catalog.api_token": {
    schema: z.string().optional(),
    default: undefined,
    doc: "API token of a sysadmin of the remote CKAN target; never printed",
    secret: true,
  },
  "ckan.harvest.harvest_source_limit": {
    schema: int(1, 100_000),
    default: 100,
    doc: "Default and maximum page size of harvest_source_list",
  },
  "ckan.harvest.not_overwrite_fields": {
    schema: words,
    default: "",
    doc: "Space-separated dataset fields whose local value an update keeps",
  },
  "ckanext.harvest.default_dataset_name_append": {
    schema: z.enum(["number-sequence", "random-hex"]),
    default: "number-sequence",
    doc: "How a taken dataset name is made unique: number-sequence (name1, name2...) or random-hex",
  },
  "ckan.harvest.http.timeout": {
    schema: int(1, 3600),
    default: 60,
    doc: "Seconds before a remote request is abandoned",
  },
  "ckan.harvest.http.user_agent": {
    schema: z.string().min(1),
    default: "ckan-harvest-ts/0.1 (+https://github.com/ckan/ckanext-harvest)",
    doc: "User-Agent sent to remote catalogs (a source's `user_agent` config overrides it)",
  },
  "ckan.harvest.http.per_host_concurrency": {
    schema: int(1, 100),
    default: 4,
    doc: "Requests in flight at once to one remote host, counted across every process that shares the " +
      "PostgreSQL database (all workers on all machines; per process on the embedded database)",
  },
  "ckan.harvest.http.max_response_mb": {
    schema: int(1, 10_000),
    default: 100,
    doc: "Largest remote response accepted, in megabytes",
  },
  "ckan.harvest.plugins": {
    schema: words,
    default: "",
    doc: "Space-separated URLs (`file:`, `http:`, `https:`) of plugin modules loaded at start-up: more " +
      "harvesters and hooks",
  },
  "ckan.harvest.allow_private_urls": {
    schema: bool,
    default: "false",
    doc: "Allow source URLs and remote requests to loopback, private, link-local and cloud-metadata addresses " +
      "(checked after DNS resolution and on every redirect). Leave off in production",
  },
  "ckan.harvest.allowed_hosts": {
    schema: words,
    default: "",
    doc: "Space- or comma-separated host names, IP addresses or CIDR ranges allowed even though they are " +
      "private (e.g. `ckan.internal 10.1.0.0/16`). The catalog target's host is always allowed",
  },
} as const;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** Settings outside the ini namespace: fixed environment variable names operators and tests rely on. */
export const ENV_SETTINGS = {
  DATABASE_URL: "PostgreSQL URL; when unset, an embedded PGlite database under HARVEST_DATA_DIR is used",
  HARVEST_DATA_DIR: "Where embedded data lives (default `./.harvest`)",
  PORT: "HTTP port of `serve` (default 5000)",
  HOST: "HTTP bind address of `serve` (default 127.0.0.1)",
  HARVEST_CONFIG: "Config file read when no -c/--config is given",
} as const;
