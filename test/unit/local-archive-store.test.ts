import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalArchiveStore } from "../../src/storage/local-archive-store.js";

describe("LocalArchiveStore", () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "kiln-local-store-"))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("reports the bytes it wrote and leaves only the final file", async () => {
    const store = new LocalArchiveStore(dir);
    const chunks = [Buffer.alloc(70_000, 1), Buffer.alloc(5, 2)];
    const stored = await store.put("kiln/tokenhub/2026-01-01/job/0.mp4", Readable.from(chunks), "video/mp4");
    expect(stored.bytes).toBe(70_005);
    expect(await readFile(join(dir, "kiln/tokenhub/2026-01-01/job/0.mp4"))).toEqual(Buffer.concat(chunks));
    expect(await readdir(join(dir, "kiln/tokenhub/2026-01-01/job"))).toEqual(["0.mp4"]);
  });

  it("copies an object as a file of its own, made again without a trace (a copy run twice), and answers undefined for a missing source", async () => {
    const store = new LocalArchiveStore(dir);
    await store.putBytes("kiln/a/one/0.png", "png bytes", "image/png");
    for (let run = 0; run < 2; run++) {
      const copied = await store.copy("kiln/a/one/0.png", "kiln/a/two/0.png");
      expect(copied?.bytes).toBe(9);
      expect(await readdir(join(dir, "kiln/a/two"))).toEqual(["0.png"]);
    }
    expect(await readFile(join(dir, "kiln/a/two/0.png"), "utf8")).toBe("png bytes");
    expect(await store.copy("kiln/a/none/0.png", "kiln/a/three/0.png")).toBeUndefined();
  });

  it("makes a job's directory again when it was removed after the store made it", async () => {
    const store = new LocalArchiveStore(dir);
    await store.putBytes("kiln/a/job/0.json", "{}", "application/json");
    await rm(join(dir, "kiln/a"), { recursive: true });
    expect((await store.put("kiln/a/job/1.png", Readable.from([Buffer.from("png")]), "image/png")).bytes).toBe(3);
    expect((await store.putBytes("kiln/a/job/2.json", "[]", "application/json")).bytes).toBe(2);
    expect(await readdir(join(dir, "kiln/a/job"))).toEqual(["1.png", "2.json"]);
  });

  it("a failed stream leaves no file and no partial file", async () => {
    const store = new LocalArchiveStore(dir);
    const broken = Readable.from(
      (async function* () {
        yield Buffer.alloc(1000);
        throw new Error("connection reset");
      })(),
    );
    await expect(store.put("kiln/b/job/0.mp4", broken, "video/mp4")).rejects.toThrow("connection reset");
    expect(await readdir(join(dir, "kiln/b/job"))).toEqual([]);
    await expect(store.get("kiln/b/job/0.mp4")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a key that leaves the directory or holds a NUL with a rejection (never a throw), writing nothing", async () => {
    const store = new LocalArchiveStore(join(dir, "root"));
    for (const key of ["/kiln/a/0.png", "../x/0.png", "kiln/../../0.png", "a\u0000b/0.png"]) {
      const body = Readable.from([Buffer.alloc(10)]);
      const put = store.put(key, body, "image/png");
      await expect(put).rejects.toMatchObject({ name: "ArchiveKeyError", isArchiveKeyError: true });
      await expect(store.putBytes(key, "{}", "application/json")).rejects.toMatchObject({ name: "ArchiveKeyError" });
      await expect(store.head(key)).rejects.toMatchObject({ name: "ArchiveKeyError" });
    }
    expect(await readdir(dir)).toEqual([]);
  });
});
