/**
 * Status mails (reference §8): after a job finishes normally, an error mail when it has errors
 * (`ckan.harvest.status_mail.errored` or `.all`), else a summary (`.all`), one per recipient. A
 * failing mail server is logged and never breaks the work; secrets never enter a mail.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { Services } from "../services_type.ts";
import { getJob, jobStats, newestJobId } from "../harvest/jobs.ts";
import { errorDigest, gatherErrorDigest } from "../harvest/reports.ts";
import { groupTitle } from "../catalog/groups.ts";
import { getSource, type SourceRow } from "../harvest/sources.ts";
import { harvestTime } from "../harvest/dicts.ts";
import { notificationRecipients } from "../harvest/notify.ts";

const log = getLogger(["harvest", "mail"]);

/** Config keys that look secret are hidden from mails whatever the harvester declares. */
const SECRET_KEY = /key|token|secret|password|passwd|credential|auth/i;

/** The source config with every secret value replaced, or "Not specified". */
export function redactedConfig(config: string, secretKeys: readonly string[]): string {
  if (!config.trim() || config.trim() === "{}") return "Not specified";
  let parsed: unknown;
  try {
    parsed = JSON.parse(config);
  } catch {
    return "(not shown: not valid JSON)";
  }
  const redact = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(redact);
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map((
          [k, v],
        ) => [k, secretKeys.includes(k) || SECRET_KEY.test(k) ? "(hidden)" : redact(v)]),
      );
    }
    return value;
  };
  return JSON.stringify(redact(parsed));
}

export interface StatusMail {
  subject: string;
  text: string;
  /** The job's source, whose recipients get the mail. */
  source: SourceRow;
}

/** Composes the mail for a finished job, or undefined when the settings ask for none. */
export async function composeStatusMail(services: Services, jobId: string): Promise<StatusMail | undefined> {
  const { sql, config } = services;
  const v = config.values;
  const job = await getJob(sql, jobId);
  const source = await getSource(sql, job.source_id);
  // The original mails about the source's newest job; a job finishing after a newer one started says nothing.
  if (await newestJobId(sql, source.id) !== job.id) return undefined;
  const stats = (await jobStats(sql, [job.id])).get(job.id)!;
  const errored = stats.errored > 0;
  if (
    errored
      ? !(v["ckan.harvest.status_mail.errored"] || v["ckan.harvest.status_mail.all"])
      : !v["ckan.harvest.status_mail.all"]
  ) {
    return undefined;
  }
  const siteUrl = v["ckan.site_url"];
  const organization = await groupTitle(sql, source.owner_org);
  const gather = await gatherErrorDigest(sql, job.id);
  const objects = await errorDigest(sql, job.id);
  const harvester = services.harvesters.get(source.type);
  const lines = [
    `This is a ${errored ? "failure" : "summary"} notification of the latest harvest job set-up in ${siteUrl}.`,
    "",
    `Job URL: ${siteUrl}/harvest/${source.name}/job/${job.id}`,
    `Harvest Source: ${source.title || source.name}`,
    `Harvest Configuration: ${redactedConfig(source.config, harvester?.secretConfigKeys?.() ?? [])}`,
    `Organization: ${organization ?? "Not specified"}`,
    "",
    `Harvest Job Id: ${job.id}`,
    `Created: ${harvestTime(job.created)}`,
    `Finished: ${harvestTime(job.finished)}`,
    "",
    `Records in Error: ${stats.errored}`,
    `Records Added: ${stats.added}`,
    `Records Updated: ${stats.updated}`,
    `Records Not Modified: ${stats["not modified"]}`,
    `Records Deleted: ${stats.deleted}`,
  ];
  if (errored) {
    lines.push(
      "",
      `Error Summary: ${gather.count + objects.objects} errors`,
      "",
      `Job Errors: ${gather.count}`,
      ...gather.messages.map((m) => `  - ${m}`),
      "",
      `Document Errors: ${objects.objects}`,
      ...objects.errors.map((e) => `  - ${e.guid}: ${e.message}`),
    );
  }
  lines.push(
    "",
    "--",
    `You are receiving this email because you are currently set-up as Administrator for ${siteUrl}.`,
    "Please do not reply to this email as it was sent from a non-monitored address.",
  );
  const title = v["ckan.site_title"];
  return {
    subject: errored
      ? `${title} - Harvesting Job - Error Notification`
      : `${title} - Harvesting Job Successful - Summary Notification`,
    text: lines.join("\n"),
    source,
  };
}

async function transport(services: Services) {
  const { default: nodemailer } = await import("nodemailer");
  const v = services.config.values;
  const [host, portText] = v["smtp.server"].split(":");
  const port = Number(portText ?? 25);
  return nodemailer.createTransport({
    host,
    port,
    secure: port === 465,
    requireTLS: v["smtp.starttls"],
    ignoreTLS: !v["smtp.starttls"] && port !== 465,
    auth: v["smtp.user"] ? { user: v["smtp.user"], pass: v["smtp.password"] } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
}

/**
 * Sends the status mail of a finished job to each recipient. Never throws: a mail server that fails
 * is logged (without the body, which names the source) and the harvest goes on.
 */
export async function sendStatusMails(services: Services, jobId: string): Promise<number> {
  const v = services.config.values;
  if (!v["ckan.harvest.status_mail.errored"] && !v["ckan.harvest.status_mail.all"]) return 0;
  let sent = 0;
  try {
    const mail = await composeStatusMail(services, jobId);
    if (!mail) return 0;
    const recipients = await notificationRecipients(services, mail.source);
    if (recipients.length === 0) {
      log.warning("No recipients with an e-mail for the status mail of job {jobId}", { jobId });
      return 0;
    }
    const smtp = await transport(services);
    try {
      for (const r of recipients) {
        try {
          await smtp.sendMail({
            from: v["smtp.mail_from"],
            to: { name: r.name, address: r.email },
            subject: mail.subject,
            text: mail.text,
          });
          sent++;
        } catch (error) {
          log.error("Sending the status mail of job {jobId} to {to} failed: {error}", {
            jobId,
            to: r.email,
            error: (error as Error).message,
          });
        }
      }
    } finally {
      smtp.close();
    }
  } catch (error) {
    log.error("Preparing the status mail of job {jobId} failed: {error}", { jobId, error: (error as Error).message });
  }
  return sent;
}
