import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";
import { Agent, type Dispatcher } from "undici";
import { redactUrl } from "../util/redact-url.js";
import { embeddedIPv4 } from "./embedded-ipv4.js";

/** Thrown when a URL points at an address kiln refuses to reach (see `isPublicAddress`). */
export class UnsafeUrlError extends Error {
  override name = "UnsafeUrlError";
  readonly code = "EUNSAFEURL";
}

/**
 * Structural guard: undici hands the lookup's error through as it is, but a copy of kiln loaded
 * twice (or a wrapping `cause`) would defeat `instanceof`, so the code is what counts.
 */
export function isUnsafeUrlError(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null | undefined;
  return e?.code === "EUNSAFEURL" || e?.cause?.code === "EUNSAFEURL";
}

/**
 * True for globally routable unicast addresses only. Everything else is refused: loopback,
 * RFC 1918 private, link-local (169.254/16, where cloud metadata lives), unique-local,
 * carrier-grade NAT, multicast, reserved, and IPv4-mapped or -translated IPv6 (no DNS answer
 * or webhook needs one, and it would smuggle any IPv4 address past a v6-only check). An IPv6
 * address that carries an IPv4 address inside (IPv4-compatible, NAT64, 6to4, Teredo: see
 * `embeddedIPv4`) is judged by that IPv4 address, every one it may stand for: `[::127.0.0.1]`
 * is loopback, while a DNS64 answer for a public host (`64:ff9b::8.8.8.8`) passes.
 * Classification is ipaddr.js's, not hand-written ranges.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv4") return parsed.range() === "unicast";
  const v6 = parsed as ipaddr.IPv6;
  if (v6.range() === "ipv4Mapped" || v6.range() === "rfc6145") return false;
  const embedded = embeddedIPv4(v6);
  if (embedded) return embedded.every((v4) => v4.range() === "unicast");
  return v6.range() === "unicast";
}

/**
 * Checks a URL before any connection: scheme, and the host when it is an IP literal. A host
 * name passes here; its addresses are checked at connect time by the guarded lookup, because
 * only that check sees the address the socket really uses. IP literals never reach a lookup
 * (Node connects to them directly), which is why they are refused here.
 */
export function assertSafeUrl(raw: string, allowPrivate: boolean): URL {
  const url = new URL(raw);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new UnsafeUrlError(`${url.protocol} URLs are not allowed: ${redactUrl(url)}`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!allowPrivate && isIP(host) && !isPublicAddress(host)) throw new UnsafeUrlError(`refusing non-public address ${host}`);
  return url;
}

/** Resolves a host name to every address it has, as `dns.lookup(host, { all: true })` does. */
export type Resolver = (hostname: string, options: LookupOptions) => Promise<LookupAddress[]>;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** The signature `net.connect` expects of its `lookup` option. */
export type SocketLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), as Node's sockets use by default. */
const systemResolver: Resolver = (hostname, options) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

export interface GuardedLookupOptions {
  /** Where addresses come from. Tests inject one to play a rebinding DNS server. @defaultValue systemResolver */
  resolve?: Resolver;
  /** Which addresses a socket may connect to. @defaultValue isPublicAddress */
  isAllowed?: (address: string) => boolean;
}

/**
 * A socket lookup that refuses disallowed answers. Used as the socket's own lookup, so the check
 * applies to the address actually connected to, on every new connection: a DNS answer that
 * changes between a check and the connection (rebinding) cannot get past it, and a refused
 * address is refused before any packet is sent to it. One disallowed address among several
 * refuses the host, since the socket may try any of them.
 */
export function createGuardedLookup(options: GuardedLookupOptions = {}): SocketLookup {
  const resolve = options.resolve ?? systemResolver;
  const isAllowed = options.isAllowed ?? isPublicAddress;
  return (hostname, lookupOptions, callback) => {
    resolve(hostname, lookupOptions).then(
      (addresses) => answer(hostname, addresses, isAllowed, lookupOptions.all === true, callback),
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}

function answer(
  hostname: string,
  addresses: LookupAddress[],
  isAllowed: (a: string) => boolean,
  all: boolean,
  callback: LookupCallback,
): void {
  const refused = addresses.find((a) => !isAllowed(a.address));
  if (refused) return callback(new UnsafeUrlError(`refusing ${hostname}: it resolves to non-public address ${refused.address}`), []);
  const first = addresses[0];
  if (!first) return callback(new UnsafeUrlError(`${hostname} resolved to no address`), []);
  if (all) return callback(null, addresses);
  callback(null, first.address, first.family);
}

/** The guarded lookup over the system resolver. */
export const guardedLookup: SocketLookup = createGuardedLookup();

export interface OutboundDispatcherOptions extends GuardedLookupOptions {
  /** Lifts every address check (KILN_ALLOW_PRIVATE_URLS), for tests and local demos. */
  allowPrivate: boolean;
  /** Gives up on a TCP/TLS connect after this long. @defaultValue 10 s */
  connectTimeoutMs?: number;
}

/** An HTTP agent for URLs that come from outside (webhook targets, provider result URLs). */
export function createOutboundDispatcher(options: OutboundDispatcherOptions): Dispatcher {
  const timeout = options.connectTimeoutMs ?? 10_000;
  const connect = options.allowPrivate ? { timeout } : { timeout, lookup: createGuardedLookup(options) };
  // undici passes `connect` through to net/tls.connect, which accept `lookup`; its own type omits it
  return new Agent({ connect: connect as Agent.Options["connect"] });
}
