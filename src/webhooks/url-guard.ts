import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { Agent, type Dispatcher } from "undici";

/** Thrown when a URL points at an address kiln refuses to reach (see `isPublicAddress`). */
export class UnsafeUrlError extends Error {
  override name = "UnsafeUrlError";
  readonly code = "EUNSAFEURL";
}

/**
 * True for globally routable unicast addresses only. Everything else is refused: loopback,
 * RFC 1918 private, link-local (169.254/16, where cloud metadata lives), unique-local,
 * carrier-grade NAT, multicast, reserved, and IPv4-mapped IPv6 (which would smuggle any IPv4
 * address past a v6-only check). Classification is ipaddr.js's, not hand-written ranges.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.parse(address).range() === "unicast";
}

/** Checks a URL before any connection: scheme, and the host when it is an IP literal. */
export function assertSafeUrl(raw: string, allowPrivate: boolean): URL {
  const url = new URL(raw);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new UnsafeUrlError(`${url.protocol} URLs are not allowed: ${redactUrl(url)}`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!allowPrivate && isIP(host) && !isPublicAddress(host)) throw new UnsafeUrlError(`refusing non-public address ${host}`);
  return url;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A dns.lookup that refuses non-public answers. Used as the socket's own lookup, so the check
 * applies to the address actually connected to: a DNS answer that changes between a check and
 * the connection (rebinding) cannot get past it.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) return callback(new UnsafeUrlError(`refusing ${hostname}: it resolves to non-public address ${refused.address}`), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(new UnsafeUrlError(`${hostname} resolved to no address`), []);
    callback(null, first.address, first.family);
  });
}

/** An HTTP agent for URLs that come from outside (webhook targets, provider result URLs). */
export function createOutboundDispatcher(options: { allowPrivate: boolean; connectTimeoutMs?: number }): Dispatcher {
  const connect = options.allowPrivate ? { timeout: options.connectTimeoutMs ?? 10_000 } : { timeout: options.connectTimeoutMs ?? 10_000, lookup: guardedLookup };
  return new Agent({ connect: connect as Agent.Options["connect"] });
}

/** The URL without its query string, which often carries a signature. */
export function redactUrl(url: URL | string): string {
  const u = new URL(String(url));
  return `${u.origin}${u.pathname}${u.search ? "?…" : ""}`;
}
