import type { Progress, RunSummary } from "../harvest/run.ts";

const encoder = new TextEncoder();

function line(p: Progress): string {
  const c = p.counts;
  return `gathered ${p.gathered} · processed ${p.done} · added ${c.added} · updated ${c.updated} · ` +
    `not modified ${c["not modified"]} · deleted ${c.deleted} · errored ${c.errored}`;
}

/**
 * A live progress display on stderr: one line rewritten in place on a terminal, a line every few
 * seconds otherwise (so logs of unattended runs still show that work goes on).
 */
export function progressDisplay(label: string): { update(p: Progress): void; end(): void } {
  const tty = Deno.stderr.isTerminal();
  let last = 0;
  let latest: Progress | undefined;
  const write = (text: string) => Deno.stderr.writeSync(encoder.encode(text));
  return {
    update(p) {
      latest = p;
      const now = performance.now();
      if (now - last < (tty ? 100 : 5000)) return;
      last = now;
      if (tty) write(`\r\x1b[2K${label}: ${line(p)}`);
      else write(`${label}: ${line(p)}\n`);
    },
    end() {
      if (tty && latest) write(`\r\x1b[2K${label}: ${line(latest)}\n`);
    },
  };
}

/** The final summary line of a run. */
export function summaryLine(s: RunSummary): string {
  const st = s.stats;
  return `Job ${s.jobId} ${s.status.toLowerCase()} in ${s.seconds.toFixed(1)} s: ${st.added} added, ` +
    `${st.updated} updated, ${st["not modified"]} not modified, ${st.deleted} deleted, ${st.errored} errored`;
}
