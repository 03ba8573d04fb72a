/** Exponential backoff with jitter, capped at 10 s: attempt 1 waits about 200 ms. */
export function backoff(attempt: number): number {
  const base = Math.min(10_000, 100 * 2 ** attempt);
  return base / 2 + Math.random() * base / 2;
}

/** Sleeps, waking early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
