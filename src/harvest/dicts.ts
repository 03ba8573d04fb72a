/** The original's timestamp format for harvest dicts: `YYYY-MM-DD HH:MM:SS.ffffff`, naive UTC. */
export function harvestTime(d: Date | null | undefined): string | null {
  if (!d) return null;
  return d.toISOString().replace("T", " ").replace("Z", "000");
}

/** The frequencies, in the drop-down order of the original. */
export const FREQUENCIES = ["MANUAL", "MONTHLY", "WEEKLY", "BIWEEKLY", "DAILY", "ALWAYS"] as const;
export type Frequency = (typeof FREQUENCIES)[number];

export const REPORT_STATUSES = ["added", "updated", "not modified", "deleted", "errored"] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];
export type JobStats = Record<ReportStatus, number>;

export function emptyStats(): JobStats {
  return { added: 0, updated: 0, "not modified": 0, errored: 0, deleted: 0 };
}
