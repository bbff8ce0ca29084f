import { describe, expect, it } from "vitest";
import { linkedOutputs, oncePerKey } from "../../src/contract/output-link.js";
import type { ArchivedOutput } from "../../src/contract/generation-result.js";
import { LocalArchiveStore, S3ArchiveStore, outputLinksOf, outputPresigner } from "../../src/storage/index.js";

// presigning is local arithmetic over the credentials: a real S3ArchiveStore needs no server for it
const store = new S3ArchiveStore({
  bucket: "kiln-archive",
  region: "eu-west-1",
  credentials: { accessKeyId: "AKIAKILNQ7VX2MK9PL4W", secretAccessKey: "c2VjcmV0c2VjcmV0c2VjcmV0" },
});
const output: ArchivedOutput = {
  index: 0,
  key: "kiln/2026/job-1/0.png",
  url: "s3://kiln-archive/kiln/2026/job-1/0.png",
  contentType: "image/png",
  bytes: 10,
  sha256: "0".repeat(64),
};
const at = Date.UTC(2026, 11, 6, 19, 30, 15, 750);

describe("outputPresigner", () => {
  it("signs at the whole second and gives expiresAt = that second + the TTL, both in the URL S3 reads", async () => {
    const link = await outputPresigner(store, 15 * 60_000, () => at)!(output);
    const query = new URL(link.href).searchParams;
    expect(new URL(link.href).protocol).toBe("https:");
    expect(query.get("X-Amz-Date")).toBe("20261206T193015Z");
    expect(query.get("X-Amz-Expires")).toBe("900");
    expect(query.get("response-content-type")).toBe("image/png");
    expect(link.expiresAt).toBe("2026-12-06T19:45:15.000Z");
  });

  it("is absent for a local archive, and outputLinksOf only mints links when KILN_OUTPUT_URLS=presigned", () => {
    const local = new LocalArchiveStore("/tmp/kiln-archive-unit");
    expect(outputPresigner(local)).toBeUndefined();
    expect(outputLinksOf({ KILN_OUTPUT_URLS: "off" }, store)).toBeUndefined();
    expect(outputLinksOf({ KILN_OUTPUT_URLS: "presigned" }, store)).toBeTypeOf("function");
    expect(() => outputLinksOf({ KILN_OUTPUT_URLS: "presigned" }, local)).toThrow(
      /KILN_OUTPUT_URLS: presigned needs an archive that presigns/,
    );
  });
});

describe("oncePerKey and linkedOutputs", () => {
  it("mint one link per key for one answer, and each output keeps its fields beside href and expiresAt", async () => {
    let minted = 0;
    const presign = oncePerKey(async (o) => ({
      href: `https://example.test/${o.key}?n=${++minted}`,
      expiresAt: "2026-12-06T20:00:00.000Z",
    }));
    const [first] = await linkedOutputs([output], presign);
    const [again] = await linkedOutputs([output], presign);
    expect(minted).toBe(1);
    expect(again).toEqual(first);
    expect(first).toEqual({ ...output, href: `https://example.test/${output.key}?n=1`, expiresAt: "2026-12-06T20:00:00.000Z" });
  });
});
