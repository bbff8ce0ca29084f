import { createHash, randomBytes, randomUUID } from "node:crypto";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

describe("test infrastructure", () => {
  describe("redis", () => {
    it("SETs, GETs and DELs a key", async () => {
      const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: 1 });
      const key = `kiln:test:infra:${randomUUID()}`;
      const value = randomUUID();
      try {
        expect(await redis.set(key, value, "EX", 60)).toBe("OK");
        expect(await redis.get(key)).toBe(value);
        expect(await redis.del(key)).toBe(1);
        expect(await redis.exists(key)).toBe(0);
      } finally {
        await redis.del(key).catch(() => {});
        await redis.quit();
      }
    });
  });

  describe("s3", () => {
    const s3 = inject("s3");
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      forcePathStyle: s3.forcePathStyle,
    });
    afterAll(() => {
      client.destroy();
    });

    it("round-trips a 6 MiB object through a multipart Upload", async () => {
      const key = `test/infra/${randomUUID()}.bin`;
      const body = randomBytes(6 * 1024 * 1024);
      const partSize = 5 * 1024 * 1024;

      const upload = new Upload({
        client,
        params: { Bucket: s3.bucket, Key: key, Body: body, ContentType: "application/octet-stream" },
        partSize,
        queueSize: 2,
      });
      const parts = new Set<number>();
      upload.on("httpUploadProgress", (p) => {
        if (p.part !== undefined) parts.add(p.part);
      });
      try {
        await upload.done();
        // 6 MiB with 5 MiB parts: really multipart (2 parts), not a single PutObject.
        expect([...parts].sort()).toEqual([1, 2]);

        const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
        expect(head.ContentLength).toBe(body.length);
        // Multipart ETags look like "<md5-of-part-md5s>-<part count>".
        expect(head.ETag).toMatch(/-2"?$/);

        const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
        if (!got.Body) throw new Error("GetObject returned no body");
        const downloaded = await got.Body.transformToByteArray();
        expect(downloaded.length).toBe(body.length);
        expect(sha256(downloaded)).toBe(sha256(body));
      } finally {
        await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
      }
      await expect(client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }))).rejects.toMatchObject({
        name: "NotFound",
      });
    });
  });
});
