import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { STATE_FIELD } from "../../src/queue/kiln-job.js";
import { KilnHarness } from "../support/kiln-harness.js";

/** The prompt directive that makes the simulator's result URLs misbehave (`packages/dev-tools/src/simulator/hostile-downloads.ts`). */
const hostile = (mode: string) => `hostile [sim:download=${mode}] ${Math.random()}`;

describe("hostile downloads are bounded and refused, each failing its job alone and soon", () => {
  const h = new KilnHarness();
  let s3: S3Client;
  beforeAll(async () => {
    // the archive deadline stays at its default hour: a final refusal must not wait for it
    await h.start({ env: { KILN_MAX_OUTPUT_BYTES_IMAGE: "1MiB", KILN_DOWNLOAD_TIMEOUT_IMAGE: "1s" } });
    const config = inject("s3");
    s3 = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    });
  });
  afterAll(async () => {
    s3.destroy();
    await h.close();
  });

  /** Keys archived under a job's folder, whatever their extension. */
  async function archivedKeys(id: string): Promise<string[]> {
    const date = new Date().toISOString().slice(0, 10);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: inject("s3").bucket, Prefix: `kiln/tokenhub/${date}/${id}/` }));
    return (listed.Contents ?? []).map((o) => o.Key!);
  }

  async function failedFast(mode: string) {
    const id = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: hostile(mode) }));
    const status = await h.client.waitFor(id, { timeoutMs: 15_000 });
    expect(status.state).toBe("failed");
    expect(await archivedKeys(id)).toEqual([]);
    return status.result!.error!;
  }

  it("an output announcing more than its kind's limit (Content-Length: 300 GB) is refused before its body is read: archive_failed", async () => {
    const error = await failedFast("huge");
    expect(error).toMatchObject({ code: "archive_failed", retryable: false });
    expect(error.message).toMatch(/announces 300000000000 bytes .* over the 1 MiB limit of image outputs \(KILN_MAX_OUTPUT_BYTES_IMAGE\)/);
  });

  it("an endless download is cut at its kind's limit on the bytes read: archive_failed, nothing stored", async () => {
    const error = await failedFast("endless");
    expect(error).toMatchObject({ code: "archive_failed", retryable: false });
    expect(error.message).toMatch(/sent at least \d+ bytes, over the 1 MiB limit .*KILN_MAX_OUTPUT_BYTES_IMAGE/);
  });

  it("HTML served for an image model's output is refused as bad_response, never archived", async () => {
    const error = await failedFast("html");
    expect(error).toMatchObject({ code: "bad_response", retryable: false });
    expect(error.message).toMatch(/text\/html.*contradicts the model's kind \(image\)/);
  });

  it("a redirect loop is a final bad_response at once, not a transient error retried until the archive deadline", async () => {
    const error = await failedFast("redirect-loop");
    expect(error).toMatchObject({ code: "bad_response", retryable: false });
    expect(error.message).toMatch(/more than 5 redirects/);
  });

  it("a download trickling a byte every 100 ms is cut at its total-time limit and retried, not held open", async () => {
    const id = await h.client.enqueue(h.request("hy-image-v3.0", { prompt: hostile("trickle") }));
    const redis = new Redis(h.env.REDIS_URL);
    try {
      let lastError: string | undefined;
      const deadline = Date.now() + 15_000;
      while (!lastError && Date.now() < deadline) {
        const state = JSON.parse((await redis.hget(`${h.prefix}:generate-tokenhub:${id}`, STATE_FIELD)) ?? "{}") as { lastError?: string };
        lastError = state.lastError;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(lastError).toMatch(/took longer than 1 s, the limit of image outputs \(KILN_DOWNLOAD_TIMEOUT_IMAGE\)/);
    } finally {
      await redis.quit();
      await h.client.cancel(id).catch(() => undefined);
    }
  }, 30_000);
});
