import ipaddr from "ipaddr.js";

/**
 * The IPv4 addresses an IPv6 address stands for, when it is one of the forms that carry an IPv4
 * address inside (a packet sent to it ends up at, or is relayed through, that IPv4 address):
 * - IPv4-compatible `::a.b.c.d` (RFC 4291 §2.5.5.1, deprecated but still routed by some stacks);
 * - NAT64 `64:ff9b::/96` (RFC 6052, the IPv4 in the last 32 bits) and the local-use
 *   `64:ff9b:1::/48` (RFC 8215), whose operator may use any RFC 6052 prefix length from /48 to
 *   /96: every placement is returned, so each must be acceptable;
 * - 6to4 `2002:AABB:CCDD::/48` (RFC 3056: the relay's IPv4 in bits 16–47);
 * - Teredo `2001:0::/32` (RFC 4380: the server's IPv4 in bits 32–63, the client's in the last
 *   32 bits with every bit inverted).
 * Undefined for every other address. IPv4-mapped addresses are not here: the guard refuses them
 * whole (see `isPublicAddress`).
 */
export function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4[] | undefined {
  const bytes = address.toByteArray();
  const words = address.parts;
  if (words.slice(0, 6).every((w) => w === 0)) return [ipv4(bytes.slice(12, 16))];
  if (words[0] === 0x64 && words[1] === 0xff9b) {
    if (words.slice(2, 6).every((w) => w === 0)) return [rfc6052(bytes, 96)];
    if (words[2] === 1) return [48, 56, 64, 96].map((prefix) => rfc6052(bytes, prefix));
    return undefined;
  }
  if (words[0] === 0x2002) return [ipv4(bytes.slice(2, 6))];
  if (words[0] === 0x2001 && words[1] === 0) return [ipv4(bytes.slice(4, 8)), ipv4(bytes.slice(12, 16).map((b) => b ^ 0xff))];
  return undefined;
}

/** RFC 6052 §2.2: the IPv4 address starts right after a prefix of `prefixBits`, skipping bits 64–71 (the "u" octet). */
function rfc6052(bytes: number[], prefixBits: number): ipaddr.IPv4 {
  const octets: number[] = [];
  for (let i = prefixBits / 8; octets.length < 4; i++) if (i !== 8) octets.push(bytes[i] ?? 0);
  return ipv4(octets);
}

function ipv4(octets: number[]): ipaddr.IPv4 {
  return new ipaddr.IPv4(octets);
}
