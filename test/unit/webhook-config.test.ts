import { generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, loadEnvironment, webhookSecretsOf, webhookSigningKeysOf } from "../../src/config/index.js";

const secret = () => `whsec_${randomBytes(32).toString("base64")}`;

function signingKey(): { whsk: string; whpk: string } {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const [seed, x] = [Buffer.from(jwk.d!, "base64url"), Buffer.from(jwk.x!, "base64url")];
  return { whsk: `whsk_${Buffer.concat([seed, x]).toString("base64")}`, whpk: `whpk_${x.toString("base64")}` };
}

/** The ConfigError `env` gives; it must quote none of `secrets`, nor their base64. */
function refusal(env: NodeJS.ProcessEnv, ...secrets: string[]): string {
  let message = "";
  try {
    loadEnvironment(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    message = (err as Error).message;
  }
  expect(message, "expected a ConfigError").not.toBe("");
  for (const s of secrets) expect(message).not.toContain(s.slice(s.indexOf("_") + 1, s.indexOf("_") + 17));
  return message;
}

describe("KILN_WEBHOOK_SECRETS", () => {
  it("holds whsec_ secrets newest first, blanks and spaces skipped; webhookSecretsOf gives them in that order", () => {
    const [a, b] = [secret(), secret()];
    const env = loadEnvironment({ KILN_WEBHOOK_SECRETS: ` ${a} ,, ${b}` });
    expect(env.KILN_WEBHOOK_SECRETS).toEqual([a, b]);
    expect(webhookSecretsOf(env)).toEqual([a, b]);
  });

  it("KILN_WEBHOOK_SECRET still works, as one secret; neither set is no secret", () => {
    const a = secret();
    expect(webhookSecretsOf(loadEnvironment({ KILN_WEBHOOK_SECRET: a }))).toEqual([a]);
    expect(webhookSecretsOf(loadEnvironment({}))).toEqual([]);
  });

  it("refuses setting both, naming both variables", () => {
    const [a, b] = [secret(), secret()];
    expect(refusal({ KILN_WEBHOOK_SECRET: a, KILN_WEBHOOK_SECRETS: b }, a, b)).toContain(
      "KILN_WEBHOOK_SECRET, KILN_WEBHOOK_SECRETS: set one or the other",
    );
  });

  it("names each bad entry by its place, never echoing a secret", () => {
    const [a, b] = [secret(), secret()];
    const short = `whsec_${randomBytes(8).toString("base64")}`;
    const message = refusal({ KILN_WEBHOOK_SECRETS: `${a},sk_live_${b.slice(6)},${short},${a}` }, a, b, short);
    expect(message).toContain("KILN_WEBHOOK_SECRETS: entry 2: expected whsec_ followed by the base64 of a 24-64 byte key");
    expect(message).toContain("KILN_WEBHOOK_SECRETS: entry 3: expected whsec_ followed by the base64 of a 24-64 byte key");
    expect(message).toContain("KILN_WEBHOOK_SECRETS: entry 4: the same secret as entry 1");
  });

  it("takes 1 to 5 secrets", () => {
    const six = Array.from({ length: 6 }, secret);
    expect(loadEnvironment({ KILN_WEBHOOK_SECRETS: six.slice(0, 5).join(",") }).KILN_WEBHOOK_SECRETS).toHaveLength(5);
    expect(refusal({ KILN_WEBHOOK_SECRETS: six.join(",") }, ...six)).toContain("KILN_WEBHOOK_SECRETS: expected at most 5 secrets");
    expect(refusal({ KILN_WEBHOOK_SECRETS: " , " })).toContain("KILN_WEBHOOK_SECRETS: expected at least one secret");
  });
});

describe("KILN_WEBHOOK_SIGNING_KEYS", () => {
  it("holds whsk_ keys newest first; webhookSigningKeysOf gives each one's whpk_ public key", () => {
    const [a, b] = [signingKey(), signingKey()];
    const env = loadEnvironment({ KILN_WEBHOOK_SIGNING_KEYS: `${a.whsk}, ${b.whsk}` });
    expect(webhookSigningKeysOf(env).map((k) => k.publicKey)).toEqual([a.whpk, b.whpk]);
    expect(webhookSigningKeysOf(loadEnvironment({}))).toEqual([]);
  });

  it("names each bad entry by its place, never echoing a key", () => {
    const [a, b] = [signingKey(), signingKey()];
    const seedOnly = `whsk_${Buffer.from(a.whsk.slice(5), "base64").subarray(0, 32).toString("base64")}`;
    const mixed = `whsk_${Buffer.concat([Buffer.from(a.whsk.slice(5), "base64").subarray(0, 32), Buffer.from(b.whpk.slice(5), "base64")]).toString("base64")}`;
    const message = refusal({ KILN_WEBHOOK_SIGNING_KEYS: `${a.whsk},${seedOnly},${mixed},${b.whpk},${a.whsk}` }, a.whsk, b.whsk, b.whpk);
    expect(message).toContain("KILN_WEBHOOK_SIGNING_KEYS: entry 2: expected whsk_ followed by the base64 of a 64 byte Ed25519 secret key");
    expect(message).toContain("KILN_WEBHOOK_SIGNING_KEYS: entry 3: its last 32 bytes are not the public key of its first 32 (the seed)");
    expect(message).toContain("KILN_WEBHOOK_SIGNING_KEYS: entry 4: expected whsk_");
    expect(message).toContain("KILN_WEBHOOK_SIGNING_KEYS: entry 5: the same key as entry 1");
  });

  it("takes at most 5 keys", () => {
    const six = Array.from({ length: 6 }, () => signingKey().whsk);
    expect(refusal({ KILN_WEBHOOK_SIGNING_KEYS: six.join(",") }, ...six)).toContain("KILN_WEBHOOK_SIGNING_KEYS: expected at most 5 keys");
  });
});
