/**
 * The SSRF guard: a harvest source is a URL any editor may type, and a hostile remote chooses every
 * link, redirect and paging URL after it. Before the service connects anywhere it refuses every
 * scheme but `http:` and `https:` (whatever else is allowed: `file:` would read local files, `data:`
 * and `blob:` have no host to vet), resolves the host and refuses loopback, private, link-local
 * (cloud metadata lives at 169.254.169.254), carrier-grade NAT, multicast and reserved addresses in
 * every spelling (IPv4-mapped, IPv4-compatible, NAT64, 6to4 and Teredo forms carry an IPv4 address
 * inside an IPv6 one), unless the operator allows them (`ckan.harvest.allow_private_urls`) or lists
 * the host (`ckan.harvest.allowed_hosts`). It answers the address it vetted, which the client then
 * connects to, so a second DNS answer (rebinding) never reaches the connection.
 *
 * @module
 */
import ipaddr from "ipaddr.js";
import { lookup } from "node:dns/promises";
import { RemoteError } from "../errors/mod.ts";

/** Host names that are cloud metadata services whatever they resolve to. */
const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata", "metadata.azure.internal", "instance-data"]);

/** The only URL schemes the service ever fetches. */
export const FETCHED_SCHEMES = new Set(["http:", "https:"]);

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

function embeddedIPv4(v6: ipaddr.IPv6, fromByte: number): ipaddr.IPv4 {
  const b = v6.toByteArray();
  return new ipaddr.IPv4([b[fromByte]!, b[fromByte + 1]!, b[fromByte + 2]!, b[fromByte + 3]!]);
}

/** Why an address is refused, or undefined when it is a public unicast address. */
export function blockedRange(address: string): string | undefined {
  let parsed: Address;
  try {
    parsed = ipaddr.parse(address.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
  } catch {
    return "unparseable";
  }
  if (parsed.kind() === "ipv6") {
    const v6 = parsed as ipaddr.IPv6;
    const p = v6.parts;
    if (v6.isIPv4MappedAddress()) return blockedRange(v6.toIPv4Address().toString());
    // ::a.b.c.d (IPv4-compatible, deprecated but still routed by some stacks to the IPv4 address).
    if (p.slice(0, 6).every((x) => x === 0) && !(p[6] === 0 && p[7]! <= 1)) {
      return blockedRange(embeddedIPv4(v6, 12).toString()) ?? "ipv4Compatible";
    }
    // NAT64 (64:ff9b::/96 well-known, 64:ff9b:1::/48 local-use): the IPv4 address is the low 32 bits.
    if (p[0] === 0x64 && p[1] === 0xff9b) {
      if (p[2] === 1) return "nat64LocalUse";
      return blockedRange(embeddedIPv4(v6, 12).toString());
    }
    // 6to4 (2002::/16): the IPv4 address follows the prefix.
    if (p[0] === 0x2002) return blockedRange(embeddedIPv4(v6, 2).toString());
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
   * Throws a `BlockedUrlError` naming the URL and why when the service must not fetch it; otherwise
   * answers the one address (from the URL itself or its DNS answer, every one of which was vetted)
   * that the connection must go to.
   */
  async vet(url: string | URL): Promise<string> {
    let u: URL;
    try {
      u = typeof url === "string" ? new URL(url) : url;
    } catch {
      throw new BlockedUrlError(`Refused to fetch ${String(url).slice(0, 200)}: not a valid URL`);
    }
    if (!FETCHED_SCHEMES.has(u.protocol)) {
      throw new BlockedUrlError(
        `Refused to fetch ${u.protocol}${
          u.protocol === "file:" ? "//" : ""
        }... URL: only http: and https: URLs are fetched`,
      );
    }
    const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "");
    if (!host) throw new BlockedUrlError(`Refused to fetch ${u.href}: the URL has no host`);
    const refuse = (why: string): never => {
      throw new BlockedUrlError(
        `Refused to connect to ${u.origin}: ${why}. Set ckan.harvest.allow_private_urls = true or add the host ` +
          `to ckan.harvest.allowed_hosts to allow it`,
      );
    };
    const listed = this.#allowPrivate || this.#names.has(host);
    if (!listed && METADATA_HOSTS.has(host)) refuse(`${host} is a cloud metadata service`);
    let addresses: string[];
    if (ipaddr.isValid(host)) addresses = [host];
    else {
      try {
        addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
      } catch (error) {
        throw new RemoteError(`Request error: cannot resolve host ${host}: ${(error as Error).message}: ${u.href}`);
      }
      if (addresses.length === 0) throw new RemoteError(`Request error: cannot resolve host ${host}: ${u.href}`);
    }
    if (!listed) {
      for (const address of addresses) {
        if (this.#allowedAddress(address)) continue;
        const range = blockedRange(address);
        if (range) {
          const what = range === "linkLocal" ? "link-local (cloud metadata)" : range;
          refuse(`${host}${host === address ? "" : ` resolves to ${address}, which`} is a ${what} address`);
        }
      }
    }
    // Prefer IPv4 when both answer: loopback test servers and most catalogs listen there.
    return addresses.find((a) => !a.includes(":")) ?? addresses[0]!;
  }

  /** Throws a `BlockedUrlError` when the service must not fetch `url` (see {@link vet}). */
  async check(url: string | URL): Promise<void> {
    await this.vet(url);
  }
}
