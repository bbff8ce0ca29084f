import { inflateSync } from "node:zlib";
import { describe, it, expect } from "vitest";
import { createHash } from "node:crypto";
import { fakeMedia, MEDIA_CONTENT_TYPES, ProviderSimulator, streamedMp4, type MediaFormat } from "@kiln/dev-tools";

const FORMATS: MediaFormat[] = ["png", "mp4", "obj", "glb", "wav", "mp3"];
const SIZES = [1_000, 50_000, 1_000_000];

// Independent CRC-32 (IEEE, reflected 0xEDB88320) so the test does not trust node:zlib's crc32
// the same way the implementation does.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface PngChunk {
  type: string;
  data: Buffer;
}

function parsePng(buf: Buffer): PngChunk[] {
  expect(buf.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const chunks: PngChunk[] = [];
  let off = 8;
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const typeAndData = buf.subarray(off + 4, off + 8 + len);
    expect(buf.readUInt32BE(off + 8 + len)).toBe(crc32(typeAndData));
    chunks.push({ type: typeAndData.subarray(0, 4).toString("latin1"), data: typeAndData.subarray(4) });
    off += 12 + len;
  }
  expect(off).toBe(buf.length);
  return chunks;
}

function checkPng(buf: Buffer): void {
  const chunks = parsePng(buf);
  const ihdr = chunks[0];
  expect(ihdr?.type).toBe("IHDR");
  expect(chunks.at(-1)?.type).toBe("IEND");
  const width = ihdr!.data.readUInt32BE(0);
  const height = ihdr!.data.readUInt32BE(4);
  expect(width).toBe(height);
  expect([...ihdr!.data.subarray(8)]).toEqual([8, 2, 0, 0, 0]); // 8-bit truecolour RGB
  const idat = chunks.filter((c) => c.type === "IDAT");
  expect(idat.length).toBeGreaterThan(0);
  const raw = inflateSync(Buffer.concat(idat.map((c) => c.data)));
  expect(raw.length).toBe(height * (1 + width * 3));
  for (let y = 0; y < height; y++) expect(raw[y * (1 + width * 3)]).toBeLessThanOrEqual(4); // valid filter byte
}

function walkBoxes(buf: Buffer, start: number, end: number): { type: string; start: number; size: number }[] {
  const boxes = [];
  let off = start;
  while (off < end) {
    const size = buf.readUInt32BE(off);
    expect(size).toBeGreaterThanOrEqual(8);
    boxes.push({ type: buf.toString("latin1", off + 4, off + 8), start: off, size });
    off += size;
  }
  expect(off).toBe(end); // sizes sum exactly to the container
  return boxes;
}

function checkMp4(buf: Buffer): void {
  const boxes = walkBoxes(buf, 0, buf.length);
  expect(boxes.map((b) => b.type)).toEqual(["ftyp", "moov", "mdat"]);
  const ftyp = boxes[0]!;
  expect(buf.toString("latin1", 8, 12)).toBe("isom");
  expect(buf.readUInt32BE(12)).toBe(512);
  expect(buf.toString("latin1", 16, ftyp.size)).toBe("isomiso2avc1mp41");
  const moov = boxes[1]!;
  const inner = walkBoxes(buf, moov.start + 8, moov.start + moov.size);
  expect(inner.map((b) => b.type)).toEqual(["mvhd"]);
  const mvhd = inner[0]!.start;
  expect(inner[0]!.size).toBe(108);
  expect(buf[mvhd + 8]).toBe(0); // version 0
  expect(buf.readUInt32BE(mvhd + 20)).toBe(1000); // timescale
  expect(buf.readUInt32BE(mvhd + 24)).toBeGreaterThan(0); // duration
}

function checkObj(buf: Buffer, seed: string): void {
  expect([...buf].every((b) => b < 0x80)).toBe(true);
  const text = buf.toString("ascii");
  expect(text.endsWith("\n")).toBe(true);
  expect(text).not.toContain("\r");
  const lines = text.slice(0, -1).split("\n");
  expect(lines[0]).toBe(`# kiln simulator ${seed}`);
  expect(lines[1]).toMatch(/^o \S+$/);
  let vertices = 0;
  let faces = 0;
  // Collect offenders and assert once: per-line expect() calls make the 1 MB case needlessly slow.
  const bad: string[] = [];
  for (const line of lines.slice(2)) {
    if (/^v -?\d+\.\d{6} -?\d+\.\d{6} -?\d+\.\d{6}$/.test(line)) {
      vertices += 1;
    } else if (/^f \d+ \d+ \d+$/.test(line)) {
      const idx = line.slice(2).split(" ").map(Number);
      if (!idx.every((i) => i >= 1 && i <= vertices)) bad.push(line); // only already-declared vertices
      faces += 1;
    } else {
      bad.push(line);
    }
  }
  expect(bad).toEqual([]);
  expect(vertices).toBeGreaterThanOrEqual(3);
  expect(faces).toBeGreaterThanOrEqual(1);
}

function checkGlb(buf: Buffer): void {
  expect(buf.readUInt32LE(0)).toBe(0x46546c67);
  expect(buf.toString("latin1", 0, 4)).toBe("glTF");
  expect(buf.readUInt32LE(4)).toBe(2);
  expect(buf.readUInt32LE(8)).toBe(buf.length);
  const jsonLen = buf.readUInt32LE(12);
  expect(buf.readUInt32LE(16)).toBe(0x4e4f534a);
  expect(jsonLen % 4).toBe(0);
  const doc = JSON.parse(buf.toString("utf8", 20, 20 + jsonLen)) as {
    asset: { version: string };
    buffers: { byteLength: number; uri?: string }[];
  };
  expect(doc.asset.version).toBe("2.0");
  const binStart = 20 + jsonLen;
  const binLen = buf.readUInt32LE(binStart);
  expect(buf.readUInt32LE(binStart + 4)).toBe(0x004e4942);
  expect(binLen % 4).toBe(0);
  expect(binStart + 8 + binLen).toBe(buf.length);
  const byteLength = doc.buffers[0]?.byteLength ?? 0;
  expect(doc.buffers[0]?.uri).toBeUndefined();
  expect(byteLength).toBeGreaterThanOrEqual(1);
  expect(binLen - byteLength).toBeGreaterThanOrEqual(0);
  expect(binLen - byteLength).toBeLessThan(4);
  expect([...buf.subarray(binStart + 8 + byteLength)].every((b) => b === 0)).toBe(true);
}

/** RIFF/WAVE: chunk sizes add up, PCM 16-bit mono 16 kHz, data chunk runs to the end. */
function checkWav(buf: Buffer): void {
  expect(buf.toString("latin1", 0, 4)).toBe("RIFF");
  expect(buf.readUInt32LE(4)).toBe(buf.length - 8);
  expect(buf.toString("latin1", 8, 16)).toBe("WAVEfmt ");
  expect([buf.readUInt16LE(20), buf.readUInt16LE(22), buf.readUInt32LE(24), buf.readUInt16LE(34)]).toEqual([1, 1, 16000, 16]);
  expect(buf.toString("latin1", 36, 40)).toBe("data");
  expect(buf.readUInt32LE(40)).toBe(buf.length - 44);
}

/** MP3: an ID3v2 tag, then MPEG-1 Layer III frame headers every 417 bytes to the end. */
function checkMp3(buf: Buffer): void {
  expect(buf.toString("latin1", 0, 3)).toBe("ID3");
  expect((buf.length - 10) % 417).toBe(0);
  for (let at = 10; at < buf.length; at += 417) expect([...buf.subarray(at, at + 4)]).toEqual([0xff, 0xfb, 0x90, 0x00]);
}

const CHECKS: Record<MediaFormat, (buf: Buffer, seed: string) => void> = {
  png: checkPng,
  mp4: checkMp4,
  obj: checkObj,
  glb: checkGlb,
  wav: checkWav,
  mp3: checkMp3,
};

describe("fakeMedia", () => {
  it("maps formats to their content types", () => {
    expect(MEDIA_CONTENT_TYPES).toEqual({
      png: "image/png",
      mp4: "video/mp4",
      obj: "model/obj",
      glb: "model/gltf-binary",
      wav: "audio/wav",
      mp3: "audio/mpeg",
    });
  });

  for (const format of FORMATS) {
    describe(format, () => {
      for (const size of SIZES) {
        it(`is structurally valid and within tolerance at ~${size} bytes`, () => {
          const buf = fakeMedia(format, "job-123", size);
          CHECKS[format](buf, "job-123");
          expect(Math.abs(buf.length - size)).toBeLessThanOrEqual(Math.max(size * 0.05, 2048));
        });
      }

      it("still produces a minimal valid file when asked for 0 bytes", () => {
        CHECKS[format](fakeMedia(format, "tiny", 0), "tiny");
      });

      it("is deterministic per seed and differs across seeds", () => {
        const a = fakeMedia(format, "seed-a", 20_000);
        expect(fakeMedia(format, "seed-a", 20_000).equals(a)).toBe(true);
        expect(fakeMedia(format, "seed-b", 20_000).equals(a)).toBe(false);
      });
    });
  }

  it("keeps OBJ ASCII even for non-ASCII or multi-line seeds", () => {
    const buf = fakeMedia("obj", "café\nf 999 999 999", 2_000);
    expect([...buf].every((b) => b < 0x80)).toBe(true);
    CHECKS.obj(buf, "caf??f 999 999 999");
  });

  it("varies the PNG pixels with the seed, not just the header", () => {
    const pixels = (seed: string): Buffer => {
      const idat = parsePng(fakeMedia("png", seed, 5_000)).filter((c) => c.type === "IDAT");
      return inflateSync(Buffer.concat(idat.map((c) => c.data)));
    };
    expect(pixels("x").equals(pixels("y"))).toBe(false);
  });

  it("rejects invalid sizes and formats", () => {
    expect(() => fakeMedia("png", "s", -1)).toThrow(RangeError);
    expect(() => fakeMedia("png", "s", Number.NaN)).toThrow(RangeError);
    expect(() => fakeMedia("gif" as MediaFormat, "s", 100)).toThrow(TypeError);
  });
});

describe("streamedMp4", () => {
  it("streams the same bytes as fakeMedia, a chunk at a time", async () => {
    for (const size of [0, 100, 3 * 1024 * 1024 + 17]) {
      const whole = fakeMedia("mp4", `seed-${size}`, size);
      const streamed = streamedMp4(`seed-${size}`, size);
      const chunks: Buffer[] = [];
      for await (const chunk of streamed.open()) chunks.push(chunk as Buffer);
      expect(streamed.bytes).toBe(whole.length);
      expect(Buffer.concat(chunks).equals(whole)).toBe(true);
      expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(1024 * 1024);
    }
  });
});

describe("the simulator's large videos", () => {
  it("are served as a stream, never held, and match the sha256 the simulator reports", async () => {
    const sim = new ProviderSimulator({
      outputBytes: { image: 1000, video: 40 * 1024 * 1024, model: 1000, preview: 1000 },
      durationsMs: { image: 0, video: 0, "3d": 0 },
    });
    const base = await sim.start();
    try {
      const task = sim.book.create(
        { provider: "tokenhub", model: "hy-video-1.5", prompt: "big", durationMs: 0, files: [{ format: "mp4", size: 40 * 1024 * 1024 }] },
        sim.options,
        Math.random,
      );
      expect(sim.book.contentOf(task.id, 0)).toBeUndefined();
      const response = await fetch(`${base}/files/${task.id}/0.mp4`);
      expect(Number(response.headers.get("content-length"))).toBe(task.files[0]!.bytes);
      const hash = createHash("sha256");
      let bytes = 0;
      for await (const chunk of response.body!) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      expect({ bytes, sha256: hash.digest("hex") }).toEqual({ bytes: task.files[0]!.bytes, sha256: task.files[0]!.sha256 });
    } finally {
      await sim.stop();
    }
  });
});

describe("the simulator's task book", () => {
  it("answers the status of a task done at once (duration 0) with its outputs, not a 500", async () => {
    const sim = new ProviderSimulator({ durationsMs: { image: 0, video: 0, "3d": 0 } });
    const base = await sim.start();
    const call = async (path: string, body: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { authorization: "Bearer key", "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    try {
      const submitted = await call("/v1/api/image/submit", { model: "hy-image-v3.0", prompt: "a kiln" });
      expect(submitted.status).toBe(200);
      for (let query = 0; query < 2; query++) {
        const answer = await call("/v1/api/image/query", { model: "hy-image-v3.0", id: submitted.body.id });
        expect(answer.status).toBe(200);
        expect(answer.body.status).toBe("completed");
      }
      expect(sim.book.counters.open).toBe(0);
    } finally {
      await sim.stop();
    }
  });
});
