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

/** Rejects with `error()` when `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => timer = setTimeout(() => reject(error()), ms)),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves with `promise`, or with undefined as soon as `signal` aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** `host:port` of a broker from its URL (else host and port), without any password, for messages. */
export function brokerAddress(o: { url?: string; host: string; port: number }, defaultPort: number): string {
  if (!o.url) return `${o.host}:${o.port}`;
  try {
    const u = new URL(o.url);
    return `${u.hostname}:${u.port || defaultPort}`;
  } catch {
    return "(an invalid broker URL)";
  }
}
