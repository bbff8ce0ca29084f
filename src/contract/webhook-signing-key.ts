import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { canonicalBase64 } from "./webhook-secret.js";

/**
 * Standard Webhooks' asymmetric secret key, as Svix (the reference producer) writes it:
 * `whsk_` + base64 of the 64-byte Ed25519 secret key, the 32-byte seed then the 32-byte public
 * key. The public key given to receivers is `whpk_` + base64 of those last 32 bytes.
 */
const SECRET_PREFIX = "whsk_";
const PUBLIC_PREFIX = "whpk_";
const SEED_BYTES = 32;
const PUBLIC_BYTES = 32;

/** A `whsk_` key ready to sign `v1a` signatures. */
/** The DER of a PKCS #8 Ed25519 private key (RFC 8410) up to its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface WebhookSigningKey {
  /** The Ed25519 private key, for `crypto.sign(null, content, privateKey)`. */
  privateKey: KeyObject;
  /** `whpk_` + base64 of the 32-byte public key: what a receiver verifies `v1a` signatures with. */
  publicKey: string;
}

/**
 * The key pair a `whsk_` key holds, or why it is none. The reason never quotes the key: it ends
 * up in start-up errors and logs.
 */
export function parseSigningKey(text: string): { key: WebhookSigningKey } | { problem: string } {
  const bytes = text.startsWith(SECRET_PREFIX) ? canonicalBase64(text.slice(SECRET_PREFIX.length)) : undefined;
  if (bytes?.length !== SEED_BYTES + PUBLIC_BYTES)
    return { problem: `expected ${SECRET_PREFIX} followed by the base64 of a ${SEED_BYTES + PUBLIC_BYTES} byte Ed25519 secret key` };
  const [seed, given] = [bytes.subarray(0, SEED_BYTES), bytes.subarray(SEED_BYTES)];
  // the key from the seed alone, as PKCS #8 (RFC 8410): node derives the public key. A JWK would
  // carry `x` too, which node 20 ignores and node 24 refuses when it does not match
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
  const derived = Buffer.from(String(createPublicKey(privateKey).export({ format: "jwk" }).x), "base64url");
  // a key whose halves disagree would sign with one key and be published as another
  if (!derived.equals(given)) return { problem: "its last 32 bytes are not the public key of its first 32 (the seed)" };
  return { key: { privateKey, publicKey: `${PUBLIC_PREFIX}${derived.toString("base64")}` } };
}
