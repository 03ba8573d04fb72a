/**
 * The SSRF guard: a harvest source is a URL any editor may type, so before the service connects
 * anywhere it resolves the host and refuses loopback, private, link-local (cloud metadata lives at
 * 169.254.169.254), carrier-grade NAT, multicast and reserved addresses, unless the operator allows
 * them (`ckan.harvest.allow_private_urls`) or lists the host (`ckan.harvest.allowed_hosts`).
 *
 * @module
 */
import ipaddr from "ipaddr.js";
import { lookup } from "node:dns/promises";
import { RemoteError } from "../errors/mod.ts";

/** Host names that are cloud metadata services whatever they resolve to. */
const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata", "metadata.azure.internal"]);

/** Thrown when a URL points where the service must not connect. */
export class BlockedUrlError extends RemoteError {
  override name = "BlockedUrlError";
}

export interface GuardOptions {
  allowPrivate: boolean;
  /** Host names, IP addresses or CIDR ranges allowed even though they are private. */
  allowedHosts: readonly string[];
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** Why an address is refused, or undefined when it is a public unicast address. */
export function blockedRange(address: string): string | undefined {
  let parsed: Address = ipaddr.parse(address);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  return range === "unicast" ? undefined : range;
}

export class UrlGuard {
  #allowPrivate: boolean;
  #names = new Set<string>();
  #cidrs: [Address, number][] = [];

  constructor(options: GuardOptions) {
    this.#allowPrivate = options.allowPrivate;
    for (const entry of options.allowedHosts) this.allow(entry);
  }

  /** Allows one more host name, address or CIDR range. */
  allow(entry: string): void {
    const e = entry.trim().toLowerCase().replace(/^\[|\]$/g, "");
    if (!e) return;
    if (e.includes("/") && ipaddr.isValidCIDR(e)) this.#cidrs.push(ipaddr.parseCIDR(e));
    else if (ipaddr.isValid(e)) this.#names.add(ipaddr.parse(e).toString());
    else this.#names.add(e);
  }

  #allowedAddress(address: string): boolean {
    const parsed = ipaddr.parse(address);
    if (this.#names.has(parsed.toString())) return true;
    return this.#cidrs.some(([net, bits]) => parsed.kind() === net.kind() && parsed.match(net, bits));
  }

  /**
   * Resolves the URL's host and throws a `BlockedUrlError` naming the host, the address and the kind
   * of range when the service must not connect there.
   */
  async check(url: string | URL): Promise<void> {
    if (this.#allowPrivate) return;
    const u = typeof url === "string" ? new URL(url) : url;
    const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "");
    if (this.#names.has(host)) return;
    const refuse = (why: string) => {
      throw new BlockedUrlError(
        `Refused to connect to ${u.origin}: ${why}. Set ckan.harvest.allow_private_urls = true or add the host ` +
          `to ckan.harvest.allowed_hosts to allow it`,
      );
    };
    if (METADATA_HOSTS.has(host)) refuse(`${host} is a cloud metadata service`);
    let addresses: string[];
    if (ipaddr.isValid(host)) addresses = [host];
    else {
      try {
        addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
      } catch (error) {
        throw new RemoteError(`Request error: cannot resolve host ${host}: ${(error as Error).message}: ${u.href}`);
      }
    }
    for (const address of addresses) {
      if (this.#allowedAddress(address)) continue;
      const range = blockedRange(address);
      if (range) {
        const what = range === "linkLocal" ? "link-local (cloud metadata)" : range;
        refuse(`${host}${host === address ? "" : ` resolves to ${address}, which`} is a ${what} address`);
      }
    }
  }
}
