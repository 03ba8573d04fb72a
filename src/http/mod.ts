/**
 * The one outbound door: every request the service makes because of remote data or user config
 * (catalog pages, redirects, paging links, JSON-LD contexts, plugin fetches through the harvest
 * context, the `ckan` catalog target, URL checks) goes through {@link HttpClient}: `http:`/`https:` only
 * at every hop, every resolved address vetted by the {@link UrlGuard} and the connection made to the
 * address it vetted, with timeouts, retries, size limits and per-host concurrency.
 *
 * @module
 */
export { HttpClient, type HttpObserver, type HttpOptions, type RequestOptions, type Validators } from "./client.ts";
export { blockedRange, BlockedUrlError, FETCHED_SCHEMES, type GuardOptions, UrlGuard } from "./guard.ts";
