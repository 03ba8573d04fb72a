import { NotModifiedError, RemoteError } from "../errors/mod.ts";
import { BlockedUrlError, FETCHED_SCHEMES, type UrlGuard } from "./guard.ts";
import { PinnedConnector } from "./pinned.ts";
import { type HostLimit, Semaphore } from "./host_limit.ts";

/** What the client reports about each request, for the metrics (wired by whoever builds the client). */
export interface HttpObserver {
  request(labels: { source: string; host: string }, seconds: number): void;
  error(labels: { source: string; host: string; kind: string }): void;
}

const NO_OBSERVER: HttpObserver = { request() {}, error() {} };

/** Redirects followed per request; each hop is checked by the guard. */
const MAX_REDIRECTS = 5;

/** Options of the client that every harvester uses for remote requests. */
export interface HttpOptions {
  userAgent: string;
  timeoutMs: number;
  maxBytes: number;
  /** Attempts per request for network errors, 429 and 5xx answers. */
  attempts?: number;
  /** Longest wait between attempts, whatever `Retry-After` says. */
  maxBackoffMs?: number;
  /** Requests in flight at once per host (in this process, and across processes with `hostLimit`). */
  perHostConcurrency?: number;
  /** Shares the per-host limit with other processes (the database's request slots). */
  hostLimit?: HostLimit;
  /**
   * Vets every hop and pins the connection to the address it vetted (the SSRF guard). Without one, any
   * address is allowed, but still only http: and https: URLs are fetched.
   */
  guard?: UrlGuard;
  /** Told about every request and failure (the metrics). */
  observer?: HttpObserver;
  /** Extra root certificates for https (PEM), besides the system's. */
  caCerts?: string[];
}

/** What a server said identifies a version of a document: its ETag and Last-Modified. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** Overrides the client's attempts (1: no retry, for probes that must answer fast). */
  attempts?: number;
  /**
   * Makes the GET conditional (If-None-Match, If-Modified-Since): an unchanged document answers 304,
   * which throws `NotModifiedError` instead of sending the body again.
   */
  validators?: Validators;
  signal?: AbortSignal;
  /** Overrides the client's maximum response size. */
  maxBytes?: number;
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * A polite HTTP client: a timeout on every request, retries with backoff that honour `Retry-After`,
 * a maximum response size, a `User-Agent`, and a limit on concurrent requests per host. Every
 * failure is a `RemoteError` whose message names the URL and what went wrong.
 */
export class HttpClient {
  #options: Required<Omit<HttpOptions, "guard" | "observer" | "caCerts" | "hostLimit">>;
  #guard: UrlGuard | undefined;
  #hostLimit: HostLimit | undefined;
  #observer: HttpObserver;
  #connector: PinnedConnector;
  /** The harvest source requests are made for, as the metrics label. */
  #source = "-";
  #hosts = new Map<string, Semaphore>();

  constructor(options: HttpOptions) {
    const { guard, observer, caCerts, hostLimit, ...rest } = options;
    this.#options = { attempts: 3, maxBackoffMs: 30_000, perHostConcurrency: 4, ...rest };
    this.#guard = guard;
    this.#hostLimit = hostLimit;
    this.#observer = observer ?? NO_OBSERVER;
    this.#connector = new PinnedConnector({ caCerts });
  }

  /** The same client (limits, guard, pinned connections, per-host queues) counting for `source` in the metrics. */
  forSource(source: string): HttpClient {
    const view = new HttpClient({
      ...this.#options,
      guard: this.#guard,
      observer: this.#observer,
      hostLimit: this.#hostLimit,
    });
    view.#connector = this.#connector;
    view.#hosts = this.#hosts;
    view.#source = source;
    return view;
  }

  /** Throws a `BlockedUrlError` when the URL may not be fetched (scheme, or the guard after DNS resolution). */
  async checkUrl(url: string): Promise<void> {
    await this.#vet(url);
  }

  /** Closes the pinned connections. */
  close(): Promise<void> {
    return this.#connector.close();
  }

  /** The address to connect to for `url`, or undefined to let fetch resolve it (no guard); throws when refused. */
  async #vet(url: string): Promise<string | undefined> {
    if (this.#guard) return await this.#guard.vet(url);
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new BlockedUrlError(`Refused to fetch ${url.slice(0, 200)}: not a valid URL`);
    }
    if (!FETCHED_SCHEMES.has(u.protocol)) {
      throw new BlockedUrlError(`Refused to fetch a ${u.protocol} URL: only http: and https: URLs are fetched`);
    }
    return undefined;
  }

  /**
   * fetch, following redirects by hand so that every hop is checked by the guard before connecting.
   */
  async #fetch(url: string, init: RequestInit): Promise<Response> {
    let current = url;
    for (let hop = 0;; hop++) {
      let host = "-";
      let address: string | undefined;
      try {
        host = new URL(current).host;
        address = await this.#vet(current);
      } catch (error) {
        this.#observer.error({ source: this.#source, host, kind: "refused" });
        throw error;
      }
      const target = new URL(current);
      const started = performance.now();
      let response: Response;
      try {
        const client = address ? await this.#connector.client(target, address) : undefined;
        response = await fetch(current, { ...init, redirect: "manual", ...(client ? { client } : {}) });
      } catch (error) {
        const timedOut = (init.signal as AbortSignal | undefined)?.aborted;
        this.#observer.error({ source: this.#source, host, kind: timedOut ? "timeout" : "network" });
        throw error;
      } finally {
        this.#observer.request({ source: this.#source, host }, (performance.now() - started) / 1000);
      }
      if (response.status >= 400) this.#observer.error({ source: this.#source, host, kind: `http_${response.status}` });
      const location = response.headers.get("location");
      if (response.status < 300 || response.status >= 400 || !location) return response;
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new RemoteError(`Too many redirects (over ${MAX_REDIRECTS}): ${url}`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new RemoteError(`Redirect to an invalid URL from ${current}`);
      }
      if (next.origin !== new URL(current).origin && init.headers) {
        // Credentials for one host are never sent to another (as browsers' fetch does).
        const headers = new Headers(init.headers);
        headers.delete("authorization");
        headers.delete("x-ckan-api-key");
        init = { ...init, headers };
      }
      current = next.href;
      if (response.status === 303 && init.method === "POST") init = { ...init, method: "GET", body: undefined };
    }
  }

  /** GETs a URL and returns the body as text. */
  async getText(
    url: string,
    options: RequestOptions = {},
  ): Promise<{ text: string; contentType: string; validators: Validators }> {
    return await this.#limited(url, options.signal, () => this.#withRetries(url, options));
  }

  /**
   * Runs a request (with its retries) within the host's limit: a place in this process's queue for
   * the host first, then a slot shared with every other process, when there is a `hostLimit`.
   */
  async #limited<T>(url: string, signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
    const host = new URL(url).host;
    let sem = this.#hosts.get(host);
    if (!sem) this.#hosts.set(host, sem = new Semaphore(this.#options.perHostConcurrency));
    await sem.acquire();
    try {
      const release = await this.#hostLimit?.acquire(host, this.#options.perHostConcurrency, signal);
      try {
        return await run();
      } finally {
        await release?.();
      }
    } finally {
      sem.release();
    }
  }

  /**
   * POSTs JSON and returns the status and the parsed JSON body, whatever the status (a CKAN API answers
   * 4xx with a JSON error). Network errors, 5xx after retries, and bodies that are not JSON throw.
   */
  async postJson(
    url: string,
    body: unknown,
    options: RequestOptions & { what?: string } = {},
  ): Promise<{ status: number; body: unknown }> {
    return await this.#limited(url, options.signal, () => this.#postJson(url, body, options));
  }

  async #postJson(
    url: string,
    body: unknown,
    options: RequestOptions & { what?: string },
  ): Promise<{ status: number; body: unknown }> {
    for (let attempt = 1;; attempt++) {
      const timeout = AbortSignal.timeout(this.#options.timeoutMs);
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method: "POST",
          headers: { "User-Agent": this.#options.userAgent, "Content-Type": "application/json", ...options.headers },
          body: JSON.stringify(body),
          signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
        });
      } catch (error) {
        if (error instanceof RemoteError) throw error;
        if (attempt < this.#options.attempts && !options.signal?.aborted) {
          await new Promise((r) => setTimeout(r, 250 * 2 ** (attempt - 1)));
          continue;
        }
        throw new RemoteError(`Request error: ${describeNetworkError(error)}: ${url}`);
      }
      const text = await response.text();
      if (response.status >= 500 && attempt < this.#options.attempts) continue;
      try {
        return { status: response.status, body: JSON.parse(text) };
      } catch {
        throw new RemoteError(
          `Response from ${options.what ?? "the remote server"} was not JSON (HTTP ${response.status}): ${url}`,
        );
      }
    }
  }

  /**
   * GETs a URL and hands back its body as a stream, for documents too large to hold: the timeout
   * applies to the answer and then to every wait for the next chunk, and the size limit (`maxBytes`,
   * else the client's) to the whole body. Network errors and HTTP errors throw `RemoteError`s.
   */
  async openStream(
    url: string,
    options: RequestOptions = {},
  ): Promise<{ stream: ReadableStream<Uint8Array>; contentType: string; validators: Validators }> {
    const { timeoutMs } = this.#options;
    const limit = options.maxBytes ?? this.#options.maxBytes;
    const idle = new AbortController();
    let timer = setTimeout(() => idle.abort(), timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
    let response: Response;
    try {
      response = await this.#get(url, options, signal);
    } catch (error) {
      clearTimeout(timer);
      if (error instanceof RemoteError) throw error;
      if (idle.signal.aborted) throw new RemoteError(`Request error: no answer within ${timeoutMs / 1000} s: ${url}`);
      throw new RemoteError(`Request error: ${describeNetworkError(error)}: ${url}`);
    }
    clearTimeout(timer);
    if (response.status === 304 && options.validators) {
      await response.body?.cancel();
      throw new NotModifiedError(url);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new RemoteError(`HTTP error: ${response.status} ${response.statusText} ${url}`, response.status);
    }
    const reader = response.body.getReader();
    let size = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        timer = setTimeout(() => idle.abort(), timeoutMs);
        try {
          const { done, value } = await reader.read();
          if (done) return controller.close();
          size += value.length;
          if (size > limit) {
            await reader.cancel();
            return controller.error(new RemoteError(`Response too large: over ${limit} bytes: ${url}`));
          }
          controller.enqueue(value);
        } catch (error) {
          controller.error(
            new RemoteError(
              idle.signal.aborted
                ? `Request error: no data for ${timeoutMs / 1000} s: ${url}`
                : `Request error: ${describeNetworkError(error)}: ${url}`,
            ),
          );
        } finally {
          clearTimeout(timer);
        }
      },
      async cancel(reason) {
        clearTimeout(timer);
        await reader.cancel(reason);
      },
    });
    return { stream, contentType: response.headers.get("content-type") ?? "", validators: validatorsOf(response) };
  }

  /** GETs a URL and parses the body as JSON; `what` names the remote in the error ("remote CKAN"). */
  async getJson(url: string, options: RequestOptions & { what?: string } = {}): Promise<unknown> {
    const { text } = await this.getText(url, options);
    try {
      return JSON.parse(text);
    } catch {
      throw new RemoteError(`Response from ${options.what ?? "the remote server"} was not JSON: ${url}`);
    }
  }

  async #withRetries(
    url: string,
    options: RequestOptions,
  ): Promise<{ text: string; contentType: string; validators: Validators }> {
    const { maxBackoffMs } = this.#options;
    const attempts = options.attempts ?? this.#options.attempts;
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#once(url, options);
      } catch (error) {
        const retryable = error instanceof RetryableError;
        if (!retryable || attempt >= attempts || options.signal?.aborted) {
          throw retryable ? error.cause : error;
        }
        const wait = Math.min(maxBackoffMs, error.waitMs ?? 250 * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** The GET both readers send: our User-Agent, JSON preferred, the caller's headers. */
  #get(url: string, options: RequestOptions, signal: AbortSignal): Promise<Response> {
    const conditional: Record<string, string> = {};
    if (options.validators?.etag) conditional["If-None-Match"] = options.validators.etag;
    if (options.validators?.lastModified) conditional["If-Modified-Since"] = options.validators.lastModified;
    return this.#fetch(url, {
      headers: {
        "User-Agent": this.#options.userAgent,
        Accept: "application/json, */*",
        ...options.headers,
        ...conditional,
      },
      signal,
    });
  }

  async #once(
    url: string,
    options: RequestOptions,
  ): Promise<{ text: string; contentType: string; validators: Validators }> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.#get(url, options, signal);
    } catch (error) {
      if (error instanceof RemoteError) throw error;
      if (timeout.aborted) {
        throw new RetryableError(
          new RemoteError(`Request error: no answer within ${this.#options.timeoutMs / 1000} s: ${url}`),
        );
      }
      if (options.signal?.aborted) throw new RemoteError(`Request cancelled: ${url}`);
      throw new RetryableError(new RemoteError(`Request error: ${describeNetworkError(error)}: ${url}`));
    }
    if (response.status === 304 && options.validators) {
      await response.body?.cancel();
      throw new NotModifiedError(url);
    }
    if (!response.ok) {
      const failure = new RemoteError(
        `HTTP error: ${response.status} ${response.statusText} ${url}`,
        response.status,
        await errorBody(response),
      );
      if (response.status === 429 || response.status >= 500) {
        throw new RetryableError(failure, retryAfterMs(response.headers.get("retry-after")));
      }
      throw failure;
    }
    const limit = options.maxBytes ?? this.#options.maxBytes;
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > limit) {
      await response.body?.cancel();
      throw new RemoteError(`Response too large: ${declared} bytes (limit ${limit}): ${url}`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body ?? []) {
        size += chunk.length;
        if (size > limit) throw new RemoteError(`Response too large: over ${limit} bytes: ${url}`);
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof RemoteError) throw error;
      if (timeout.aborted) {
        throw new RetryableError(
          new RemoteError(`Request error: no answer within ${this.#options.timeoutMs / 1000} s: ${url}`),
        );
      }
      throw new RetryableError(new RemoteError(`Request error: ${describeNetworkError(error)}: ${url}`));
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const c of chunks) {
      bytes.set(c, offset);
      offset += c.length;
    }
    return {
      text: new TextDecoder().decode(bytes),
      contentType: response.headers.get("content-type") ?? "",
      validators: validatorsOf(response),
    };
  }
}

/** The validators a response carries, for the next conditional GET. */
function validatorsOf(response: Response): Validators {
  const out: Validators = {};
  const etag = response.headers.get("etag");
  const lastModified = response.headers.get("last-modified");
  if (etag) out.etag = etag;
  if (lastModified) out.lastModified = lastModified;
  return out;
}

class RetryableError extends Error {
  constructor(override readonly cause: RemoteError, readonly waitMs?: number) {
    super(cause.message);
  }
}

function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  const message = error instanceof Error ? `${error.message}${cause}` : String(error);
  if (/connection refused/i.test(message)) return "connection refused";
  if (/dns|name or service not known|failed to lookup/i.test(message)) return "host name not found";
  if (/timed out/i.test(message)) return "connection timed out";
  return message.replace(/^fetch failed: /, "").replace(/^error sending request for url \([^)]*\): /, "");
}

/** The first 8 KB of an error answer, for the caller to read a service's own error format from. */
async function errorBody(response: Response): Promise<string | undefined> {
  if (!response.body) return undefined;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < 8192) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    return undefined;
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(size, 8192));
  let at = 0;
  for (const c of chunks) {
    const part = c.subarray(0, all.length - at);
    all.set(part, at);
    at += part.length;
    if (at >= all.length) break;
  }
  return new TextDecoder().decode(all);
}
