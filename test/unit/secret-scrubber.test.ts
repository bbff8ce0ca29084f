import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { REDACTED, SecretScrubber } from "../../src/util/secret-scrubber.js";
import { configuredSecrets } from "../../src/config/index.js";
import { loadEnvironment } from "../../src/config/index.js";

const KEY = "sk-proj-Abc123Def456Ghi789Jkl012";
const TOKEN = "api-token-0123456789abcdef";
const scrubber = new SecretScrubber([KEY, TOKEN]);

describe("SecretScrubber", () => {
  it("replaces a secret echoed whole, wherever it sits in the text", () => {
    expect(scrubber.scrub(`Incorrect API key provided: ${KEY}. You can find your key at ...`)).toBe(
      `Incorrect API key provided: ${REDACTED}. You can find your key at ...`,
    );
    expect(scrubber.scrub(`{"key":"${KEY}","token":"${TOKEN}"}`)).toBe(`{"key":"${REDACTED}","token":"${REDACTED}"}`);
  });

  it("replaces any piece of a secret of 8 characters or more (a key cut short, or its tail)", () => {
    expect(scrubber.scrub(`key ${KEY.slice(0, 12)} is invalid`)).toBe(`key ${REDACTED} is invalid`);
    expect(scrubber.scrub(`key ending ${KEY.slice(-8)}`)).toBe(`key ending ${REDACTED}`);
    expect(scrubber.scrub(`middle ${KEY.slice(5, 15)}!`)).toBe(`middle ${REDACTED}!`);
    // 7 characters tell nothing and cannot be told from ordinary text
    expect(scrubber.scrub(`prefix ${KEY.slice(0, 7)} only`)).toBe(`prefix ${KEY.slice(0, 7)} only`);
  });

  it("replaces masked echoes: the visible start or end of a secret around ***, ... or …", () => {
    expect(scrubber.scrub(`Incorrect API key provided: sk-proj-****************${KEY.slice(-4)}.`)).toBe(
      `Incorrect API key provided: ${REDACTED}.`,
    );
    expect(scrubber.scrub(`key sk-pr...${KEY.slice(-4)} rejected`)).toBe(`key ${REDACTED} rejected`);
    expect(scrubber.scrub(`key sk-p…`)).toBe(`key ${REDACTED}`);
    expect(scrubber.scrub("well... that failed")).toBe("well... that failed");
  });

  it("leaves text without secrets as it is, and ignores secrets shorter than 8 characters", () => {
    expect(scrubber.scrub("the task failed: content policy")).toBe("the task failed: content policy");
    expect(new SecretScrubber(["test", undefined, ""]).empty).toBe(true);
    expect(new SecretScrubber(["test"]).scrub("a test prompt")).toBe("a test prompt");
  });

  it("with() adds a job's own secret without losing the configured ones", () => {
    const secret = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0";
    const job = scrubber.with([secret]);
    expect(job.scrub(`${secret} and ${KEY}`)).toBe(`${REDACTED} and ${REDACTED}`);
    expect(scrubber.scrub(secret)).toBe(secret);
    expect(scrubber.with([undefined])).toBe(scrubber);
  });

  it("scrubDeep scrubs every string of plain records and arrays", () => {
    expect(scrubber.scrubDeep({ a: [`x ${KEY}`], b: { c: TOKEN, n: 3 } })).toEqual({ a: [`x ${REDACTED}`], b: { c: REDACTED, n: 3 } });
  });

  it("forJson keeps a JSON line valid, even for a secret JSON escapes and a piece next to an escape", () => {
    const quoted = 'pass"word\\with-escapes';
    const lines = new SecretScrubber([quoted, "nabcdefghijk"]).forJson();
    const record = { msg: `redis said ${quoted}`, other: "x\nabcdefghijk y" };
    const line = lines.scrub(JSON.stringify(record));
    expect(JSON.parse(line)).toEqual({ msg: `redis said ${REDACTED}`, other: `x${REDACTED} y` });
  });
});

describe("configuredSecrets", () => {
  it("holds every credential of the configuration", () => {
    const env = loadEnvironment({
      TOKENHUB_API_KEY: "tokenhub-key-0001",
      GATEWAY_API_KEY: "gateway-key-0002",
      GATEWAY_BASE_URL: "http://gw.example",
      WCODE_API_KEY: "wcode-key-0003",
      KILN_API_TOKEN: "api-token-0004-xxxxxx",
      KILN_READ_TOKEN: "read-token-0005-xxxxx",
      KILN_ADMIN_TOKEN: "admin-token-0006-xxxx",
      KILN_WEBHOOK_SECRET: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
      S3_ACCESS_KEY_ID: "AKIAEXAMPLE0007",
      S3_SECRET_ACCESS_KEY: "s3-secret-0008",
      REDIS_URL: "redis://:redis%2Fpass-0009@127.0.0.1:6379",
    });
    const secrets = configuredSecrets(env, {
      AWS_SESSION_TOKEN: "aws-session-0010",
      OTEL_EXPORTER_OTLP_HEADERS: "x-honeycomb-team=otel-key-0011",
    });
    for (const n of ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011"])
      expect(
        secrets.some((s) => s.includes(n)),
        n,
      ).toBe(true);
    expect(secrets).toContain("redis/pass-0009");
    expect(secrets).toContain("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=");
  });

  it("holds every secret of a rotation: each of KILN_WEBHOOK_SECRETS, KILN_WEBHOOK_SIGNING_KEYS and a tenant's", () => {
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => `whsec_${Buffer.alloc(24, n).toString("base64")}`);
    const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
    const key = `whsk_${Buffer.concat([Buffer.from(jwk.d!, "base64url"), Buffer.from(jwk.x!, "base64url")]).toString("base64")}`;
    const env = loadEnvironment({
      KILN_WEBHOOK_SECRETS: `${a},${b}`,
      KILN_WEBHOOK_SIGNING_KEYS: key,
      KILN_TENANT_WEBHOOK_SECRETS: `studio:${c},studio:${d}`,
    });
    expect(configuredSecrets(env, {})).toEqual(expect.arrayContaining([a, b, c, d, key]));
  });
});
