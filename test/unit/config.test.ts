import { describe, it, expect } from "vitest";
import { ConfigError, loadEnvironment, queueLocationOf } from "../../src/config/index.js";
import { outputLimitsOf } from "../../src/workers/kiln-workers.js";
import { outputLimitsFor } from "../../src/storage/output-limits.js";

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadEnvironment(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe("loadEnvironment", () => {
  it("has defaults for an empty environment", () => {
    const env = loadEnvironment({});
    expect(env.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(env.KILN_PREFIX).toBe("{kiln}");
    expect(env.TOKENHUB_BASE_URL).toEqual(["https://tokenhub.tencentmaas.com", "https://tokenhub.tencentmaas.cn"]);
    expect(env.S3_CHECKSUMS).toBe("when_supported");
    expect(env.KILN_ALLOW_PRIVATE_URLS).toBe(false);
    expect(env.KILN_POLL_SCALE).toBe(1);
  });

  it("reads KILN_ARCHIVE_MEMORY in binary units, 192 MiB by default, and refuses less than one part", () => {
    expect(loadEnvironment({}).KILN_ARCHIVE_MEMORY).toBe(192 * 1024 ** 2);
    expect(loadEnvironment({ KILN_ARCHIVE_MEMORY: "64MiB" }).KILN_ARCHIVE_MEMORY).toBe(64 * 1024 ** 2);
    expect(loadEnvironment({ KILN_ARCHIVE_MEMORY: "1g" }).KILN_ARCHIVE_MEMORY).toBe(1024 ** 3);
    expect(loadEnvironment({ KILN_ARCHIVE_MEMORY: "33554432" }).KILN_ARCHIVE_MEMORY).toBe(32 * 1024 ** 2);
    expect(configError({ KILN_ARCHIVE_MEMORY: "4MiB" }).message).toMatch(/KILN_ARCHIVE_MEMORY.*at least 8MiB/);
    expect(configError({ KILN_ARCHIVE_MEMORY: "lots" }).message).toMatch(/KILN_ARCHIVE_MEMORY.*expected a size/);
  });

  it("reads KILN_OUTPUT_URLS (off by default), refuses presigned without an S3 bucket, and KILN_OUTPUT_URL_TTL past S3's 7 days", () => {
    expect(loadEnvironment({}).KILN_OUTPUT_URLS).toBe("off");
    expect(loadEnvironment({ KILN_OUTPUT_URLS: "presigned", S3_BUCKET: "kiln" }).KILN_OUTPUT_URLS).toBe("presigned");
    expect(configError({ KILN_OUTPUT_URLS: "presigned", ARCHIVE_DIR: "/tmp/a" }).message).toMatch(
      /KILN_OUTPUT_URLS: presigned needs an S3 archive \(S3_BUCKET\); the local archive \(ARCHIVE_DIR\)/,
    );
    expect(configError({ KILN_OUTPUT_URLS: "always", S3_BUCKET: "kiln" }).message).toMatch(/KILN_OUTPUT_URLS: expected off or presigned/);
    expect(loadEnvironment({ KILN_OUTPUT_URL_TTL: "168h" }).KILN_OUTPUT_URL_TTL).toBe(7 * 86_400_000);
    expect(configError({ KILN_OUTPUT_URL_TTL: "169h" }).message).toMatch(/KILN_OUTPUT_URL_TTL: expected at most 7d/);
    expect(configError({ KILN_OUTPUT_URL_TTL: "500ms" }).message).toMatch(/KILN_OUTPUT_URL_TTL: expected at least 1s/);
  });

  it("reads KILN_MAX_BAD_ANSWERS, 5 by default, and refuses anything but 1 to 1000", () => {
    expect(loadEnvironment({}).KILN_MAX_BAD_ANSWERS).toBe(5);
    expect(loadEnvironment({ KILN_MAX_BAD_ANSWERS: "12" }).KILN_MAX_BAD_ANSWERS).toBe(12);
    expect(configError({ KILN_MAX_BAD_ANSWERS: "0" }).message).toMatch(/KILN_MAX_BAD_ANSWERS.*expected 1 to 1000/);
    expect(configError({ KILN_MAX_BAD_ANSWERS: "2.5" }).message).toMatch(/KILN_MAX_BAD_ANSWERS.*expected a whole number/);
  });

  it("reads KILN_MAX_JOB_BYTES in binary units, 1 MiB by default, from 1 KiB to 512 MiB", () => {
    expect(loadEnvironment({}).KILN_MAX_JOB_BYTES).toBe(1024 ** 2);
    expect(loadEnvironment({ KILN_MAX_JOB_BYTES: "4MiB" }).KILN_MAX_JOB_BYTES).toBe(4 * 1024 ** 2);
    expect(configError({ KILN_MAX_JOB_BYTES: "100" }).message).toMatch(/KILN_MAX_JOB_BYTES.*at least 1KiB/);
    expect(configError({ KILN_MAX_JOB_BYTES: "1GiB" }).message).toMatch(/KILN_MAX_JOB_BYTES.*at most 512MiB/);
  });

  it("refuses an output limit whose S3 parts cannot fit the archive memory, naming the variable", () => {
    const s3 = { S3_BUCKET: "kiln", KILN_ARCHIVE_MEMORY: "64MiB" };
    expect(configError({ ...s3, KILN_MAX_OUTPUT_BYTES_VIDEO: "200GiB" }).message).toMatch(/KILN_MAX_OUTPUT_BYTES_VIDEO: its S3 parts/);
    expect(loadEnvironment({ ...s3, KILN_MAX_OUTPUT_BYTES_VIDEO: "100GiB" }).KILN_MAX_OUTPUT_BYTES_VIDEO).toBe(100 * 1024 ** 3);
    // the local store has no parts
    expect(loadEnvironment({ KILN_MAX_OUTPUT_BYTES_VIDEO: "4000GiB" }).KILN_MAX_OUTPUT_BYTES_VIDEO).toBe(4000 * 1024 ** 3);
  });

  it("reads the per-kind output limits and the archive deadline, naming the variable of a bad one", () => {
    const env = loadEnvironment({ KILN_MAX_OUTPUT_BYTES_VIDEO: "8GiB", KILN_DOWNLOAD_TIMEOUT_3D: "90m", KILN_ARCHIVE_DEADLINE: "3h" });
    expect(outputLimitsOf(env)).toMatchObject({ video: { maxBytes: 8 * 1024 ** 3 }, "3d": { timeoutMs: 90 * 60_000 } });
    expect(env.KILN_ARCHIVE_DEADLINE).toBe(3 * 3_600_000);
    expect(outputLimitsFor("image", outputLimitsOf(loadEnvironment({})))).toEqual({
      kind: "image",
      maxBytes: 64 * 1024 ** 2,
      timeoutMs: 300_000,
    });
    expect(configError({ KILN_MAX_OUTPUT_BYTES_IMAGE: "12" }).message).toMatch(/KILN_MAX_OUTPUT_BYTES_IMAGE.*at least 1KiB/);
    expect(configError({ KILN_DOWNLOAD_TIMEOUT_AUDIO: "soon" }).message).toMatch(/KILN_DOWNLOAD_TIMEOUT_AUDIO.*expected a duration/);
    expect(configError({ KILN_ARCHIVE_DEADLINE: "10ms" }).message).toMatch(/KILN_ARCHIVE_DEADLINE.*at least 1s/);
  });

  it("reads KILN_SLOT_LEASE (25 s) and KILN_FETCH_WATCHDOG (20 s, 0 turns it off) as durations, naming the variable when out of range", () => {
    expect(loadEnvironment({})).toMatchObject({ KILN_SLOT_LEASE: 25_000, KILN_FETCH_WATCHDOG: 20_000 });
    expect(loadEnvironment({ KILN_SLOT_LEASE: "2m", KILN_FETCH_WATCHDOG: "0" })).toMatchObject({
      KILN_SLOT_LEASE: 120_000,
      KILN_FETCH_WATCHDOG: 0,
    });
    expect(configError({ KILN_SLOT_LEASE: "500ms" }).message).toMatch(/KILN_SLOT_LEASE.*at least 1s/);
    expect(configError({ KILN_FETCH_WATCHDOG: "200ms" }).message).toMatch(/KILN_FETCH_WATCHDOG.*0 \(off\) or 1s to 1h/);
    expect(configError({ KILN_FETCH_WATCHDOG: "soon" }).message).toMatch(/KILN_FETCH_WATCHDOG.*expected a duration/);
  });

  it("parses a comma-separated TOKENHUB_BASE_URL in order", () => {
    expect(loadEnvironment({ TOKENHUB_BASE_URL: "http://b.example , http://a.example,http://c.example" }).TOKENHUB_BASE_URL).toEqual([
      "http://b.example",
      "http://a.example",
      "http://c.example",
    ]);
  });

  it("reads flags and numbers", () => {
    const env = loadEnvironment({ KILN_ALLOW_PRIVATE_URLS: "TRUE", S3_FORCE_PATH_STYLE: "1", KILN_POLL_SCALE: "0.05" });
    expect(env).toMatchObject({ KILN_ALLOW_PRIVATE_URLS: true, S3_FORCE_PATH_STYLE: true, KILN_POLL_SCALE: 0.05 });
  });

  it("treats empty strings as unset", () => {
    const env = loadEnvironment({ REDIS_URL: "", KILN_PREFIX: "", KILN_WEBHOOK_SECRET: "", S3_ACCESS_KEY_ID: "", KILN_POLL_SCALE: "" });
    expect(env.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(env.KILN_PREFIX).toBe("{kiln}");
    expect(env.KILN_WEBHOOK_SECRET).toBeUndefined();
    expect(env.S3_ACCESS_KEY_ID).toBeUndefined();
    expect(env.KILN_POLL_SCALE).toBe(1);
  });

  it.each([
    ["REDIS_URL", { REDIS_URL: "not a url" }],
    ["KILN_PREFIX", { KILN_PREFIX: "kiln:prod" }],
    ["KILN_WEBHOOK_SECRET", { KILN_WEBHOOK_SECRET: "c2VjcmV0c2VjcmV0c2VjcmV0" }],
    ["KILN_ALLOW_PRIVATE_URLS", { KILN_ALLOW_PRIVATE_URLS: "maybe" }],
    ["S3_SECRET_ACCESS_KEY", { S3_ACCESS_KEY_ID: "AKIA" }],
    ["S3_ACCESS_KEY_ID", { S3_SECRET_ACCESS_KEY: "secret" }],
    ["S3_BUCKET", { S3_ENDPOINT: "http://127.0.0.1:9000" }],
    ["KILN_POLL_SCALE", { KILN_POLL_SCALE: "0" }],
    ["KILN_PREFIX", { KILN_PREFIX: "kiln" }],
    ["REDIS_CLUSTER_NODES", { REDIS_CLUSTER_NODES: "10.0.0.1:7000,10.0.0.2" }],
    ["KILN_PARTITIONS", { KILN_PARTITIONS: "0" }],
    ["KILN_WORKER_PARTITIONS", { KILN_PARTITIONS: "3", KILN_WORKER_PARTITIONS: "1,3" }],
  ] as const)("names %s in the ConfigError", (variable, env) => {
    expect(configError(env).message).toContain(variable);
  });

  it("accepts a whsec_ secret and complete S3 settings", () => {
    const env = loadEnvironment({
      KILN_WEBHOOK_SECRET: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0",
      S3_ENDPOINT: "http://127.0.0.1:9000",
      S3_BUCKET: "kiln",
      S3_ACCESS_KEY_ID: "AKIA",
      S3_SECRET_ACCESS_KEY: "secret",
    });
    expect(env).toMatchObject({ KILN_WEBHOOK_SECRET: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", S3_BUCKET: "kiln" });
  });

  it("accepts Redis Cluster seeds and partitions, with their password and TLS, and names where producers find the queues", () => {
    const env = loadEnvironment({
      REDIS_CLUSTER_NODES: "10.0.0.1:7000, redis-2.internal:7001,[::1]:7002",
      REDIS_PASSWORD: "s3cret",
      REDIS_TLS: "true",
      KILN_PARTITIONS: "3",
      KILN_WORKER_PARTITIONS: "0,2",
    });
    expect(queueLocationOf(env)).toEqual({
      target: {
        clusterNodes: [
          { host: "10.0.0.1", port: 7000 },
          { host: "redis-2.internal", port: 7001 },
          { host: "::1", port: 7002 },
        ],
        password: "s3cret",
        tls: true,
      },
      prefix: "{kiln}",
      partitions: 3,
    });
    // without seeds, REDIS_URL and one partition: what every deployment had before
    expect(queueLocationOf(loadEnvironment({ REDIS_URL: "redis://10.0.0.9:6380" }))).toEqual({
      target: { url: "redis://10.0.0.9:6380" },
      prefix: "{kiln}",
      partitions: 1,
    });
    expect(configError({ KILN_PREFIX: "kiln" }).message).toMatch(/KILN_PREFIX: must contain a non-empty \{\.\.\.\} hash tag/);
    expect(loadEnvironment({ KILN_PARTITIONS: "1", KILN_WORKER_PARTITIONS: "0" })).toMatchObject({
      KILN_PARTITIONS: 1,
      KILN_WORKER_PARTITIONS: "0",
    });
  });
});
