import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";
import { crc32, deflateSync } from "node:zlib";
import { mp3, wav } from "./fake-audio.js";

/** Media formats the provider simulator can produce. */
export type MediaFormat = "png" | "mp4" | "obj" | "glb" | "wav" | "mp3";

/** Content-Type served for each format: image/png, video/mp4, model/obj, model/gltf-binary. */
export const MEDIA_CONTENT_TYPES: Record<MediaFormat, string> = {
  png: "image/png",
  mp4: "video/mp4",
  obj: "model/obj",
  glb: "model/gltf-binary",
  wav: "audio/wav",
  mp3: "audio/mpeg",
};

/** Returns the next `n` bytes of a seeded stream. */
type ByteSource = (n: number) => Buffer;

// MP4 box and GLB length fields are 32-bit; staying under 2 GiB also keeps Buffer allocations legal.
const MAX_BYTES = 0x7fff_ffff;

/**
 * Bytes of a valid file of `format`, close to `approxBytes` (within 5% or 2 KiB, whichever is
 * larger; never below the format's minimal valid size), fully determined by `seed`.
 */
export function fakeMedia(format: MediaFormat, seed: string, approxBytes: number): Buffer {
  if (!Number.isFinite(approxBytes) || approxBytes < 0 || approxBytes > MAX_BYTES) {
    throw new RangeError(`approxBytes must be within [0, ${MAX_BYTES}], got ${approxBytes}`);
  }
  // Guards JS callers and untyped config; the type alone cannot stop "gif" arriving at runtime.
  if (!Object.hasOwn(GENERATORS, format)) throw new TypeError(`unsupported media format: ${format}`);
  return GENERATORS[format](keystream(seed, format), seed, Math.floor(approxBytes));
}

const GENERATORS: Record<MediaFormat, (rand: ByteSource, seed: string, target: number) => Buffer> = {
  png: (rand, _seed, target) => png(rand, target),
  mp4: (rand, _seed, target) => mp4(rand, target),
  obj: (rand, seed, target) => obj(rand, seed, target),
  glb: (rand, _seed, target) => glb(rand, target),
  wav: (rand, _seed, target) => wav(rand, target),
  mp3: (rand, _seed, target) => mp3(rand, target),
};

// AES-256-CTR keyed by sha256(seed) is a fast, full-entropy, reproducible stream: megabytes of
// incompressible bytes in milliseconds, and no 32-bit PRNG state for seeds to collide in.
function keystream(seed: string, format: MediaFormat): ByteSource {
  const key = createHash("sha256").update(`kiln-fake-media\0${format}\0${seed}`).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  return (n) => cipher.update(Buffer.alloc(n));
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value, 0);
  return out;
}

const totalLength = (parts: Buffer[]): number => parts.reduce((n, p) => n + p.length, 0);

// ---------- PNG ----------

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// Signature(8) + IHDR(25) + IEND(12) + zlib header/Adler-32(6) + one IDAT's framing(12).
const PNG_OVERHEAD = 63;
// libpng's default IDAT size; splitting makes readers exercise IDAT concatenation.
const IDAT_SPLIT = 8192;

function pngChunk(type: string, data: Buffer): Buffer {
  const typeBytes = Buffer.from(type, "latin1");
  // PNG's CRC covers the type and data but not the length field.
  return Buffer.concat([u32(data.length), typeBytes, data, u32(crc32(data, crc32(typeBytes)))]);
}

// Level-0 deflate stores bytes verbatim, so the file is ~overhead + 3w² + w: solve for w.
function pngSide(target: number): number {
  const payload = Math.max(0, target - PNG_OVERHEAD);
  return Math.max(1, Math.round((Math.sqrt(1 + 12 * payload) - 1) / 6));
}

function png(rand: ByteSource, target: number): Buffer {
  const side = pngSide(target);
  const rowBytes = 1 + side * 3;
  const raw = rand(side * rowBytes);
  for (let y = 0; y < side; y++) raw[y * rowBytes] = 0; // filter "None": pixels stay random
  const ihdr = Buffer.concat([u32(side), u32(side), Buffer.from([8, 2, 0, 0, 0])]); // 8-bit RGB
  const zdata = deflateSync(raw, { level: 0 });
  const idats: Buffer[] = [];
  for (let o = 0; o < zdata.length; o += IDAT_SPLIT) {
    idats.push(pngChunk("IDAT", zdata.subarray(o, o + IDAT_SPLIT)));
  }
  return Buffer.concat([PNG_SIGNATURE, pngChunk("IHDR", ihdr), ...idats, pngChunk("IEND", Buffer.alloc(0))]);
}

// ---------- MP4 ----------

// ftyp(32) + moov(8 + mvhd 108) + mdat header(8).
const MP4_OVERHEAD = 156;

function box(type: string, ...payload: Buffer[]): Buffer {
  return Buffer.concat([u32(8 + totalLength(payload)), Buffer.from(type, "latin1"), ...payload]);
}

function mvhd(durationMs: number): Buffer {
  const body = Buffer.alloc(100); // version 0, flags 0, creation/modification times 0
  body.writeUInt32BE(1000, 12); // timescale: milliseconds
  body.writeUInt32BE(durationMs, 16);
  body.writeUInt32BE(0x0001_0000, 20); // rate 1.0 (16.16)
  body.writeUInt16BE(0x0100, 24); // volume 1.0 (8.8)
  const identity = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];
  identity.forEach((v, i) => body.writeUInt32BE(v, 36 + i * 4));
  body.writeUInt32BE(1, 96); // next_track_ID
  return box("mvhd", body);
}

function mp4(rand: ByteSource, target: number): Buffer {
  const { head, payload } = mp4Head(rand, target);
  return Buffer.concat([head, rand(payload)]);
}

/** Everything before the mdat payload (drawing the duration from `rand`), and the payload's length. */
function mp4Head(rand: ByteSource, target: number): { head: Buffer; payload: number } {
  const ftyp = box("ftyp", Buffer.from("isom", "latin1"), u32(512), Buffer.from("isomiso2avc1mp41", "latin1"));
  const durationMs = 1000 + (rand(4).readUInt32BE(0) % 9000);
  const payload = Math.max(0, target - MP4_OVERHEAD);
  return { head: Buffer.concat([ftyp, box("moov", mvhd(durationMs)), u32(8 + payload), Buffer.from("mdat", "latin1")]), payload };
}

/** A fake file too large to hold: its length, and its bytes generated afresh on each `open`. */
export interface StreamedMedia {
  bytes: number;
  open(): Readable;
  /** The chunks of `open`, synchronously (for hashing without a stream). */
  chunks(): Generator<Buffer>;
}

const STREAM_CHUNK = 1024 * 1024;

/**
 * The same bytes as `fakeMedia("mp4", seed, approxBytes)`, produced a megabyte at a time: a
 * 1 GiB video is served without ever being held. Only mp4 streams (its payload is the
 * keystream itself); the other formats are small and made whole.
 */
export function streamedMp4(seed: string, approxBytes: number): StreamedMedia {
  if (!Number.isFinite(approxBytes) || approxBytes < 0 || approxBytes > MAX_BYTES) {
    throw new RangeError(`approxBytes must be within [0, ${MAX_BYTES}], got ${approxBytes}`);
  }
  const target = Math.floor(approxBytes);
  const { head, payload } = mp4Head(keystream(seed, "mp4"), target);
  function* chunks(): Generator<Buffer> {
    const rand = keystream(seed, "mp4");
    mp4Head(rand, target); // advances the keystream past the duration, as fakeMedia does
    yield head;
    for (let left = payload; left > 0; left -= STREAM_CHUNK) yield rand(Math.min(STREAM_CHUNK, left));
  }
  return { bytes: head.length + payload, open: () => Readable.from(chunks(), { objectMode: false }), chunks };
}

// ---------- OBJ ----------

const unit = (rand: ByteSource): number => rand(4).readUInt32BE(0) / 2 ** 32;

function vertexLine(rand: ByteSource): string {
  const coords = [0, 1, 2].map(() => (unit(rand) * 2 - 1).toFixed(6));
  return `v ${coords.join(" ")}`;
}

// Joins the two newest vertices with a random older one: distinct, in-range, 1-based indices.
function faceLine(rand: ByteSource, vertexCount: number): string {
  const older = 1 + Math.floor(unit(rand) * (vertexCount - 2));
  return `f ${vertexCount} ${vertexCount - 1} ${older}`;
}

function obj(rand: ByteSource, seed: string, target: number): Buffer {
  // The seed is echoed for debugging, but the file must stay ASCII with one line per record.
  const lines = [`# kiln simulator ${seed.replace(/[^\x20-\x7e]/g, "?")}`, "o kiln"];
  let size = lines.reduce((n, line) => n + line.length + 1, 0);
  let vertices = 0;
  const push = (line: string): void => {
    lines.push(line);
    size += line.length + 1;
  };
  while (size < target || vertices < 3) {
    push(vertexLine(rand));
    vertices += 1;
    if (vertices >= 3) push(faceLine(rand, vertices));
  }
  return Buffer.from(`${lines.join("\n")}\n`, "ascii");
}

// ---------- GLB ----------

const GLB_MAGIC = 0x46546c67; // "glTF"
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;
const GLB_FRAMING = 12 + 8 + 8; // header + two chunk headers

const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

function glbJson(binLength: number): Buffer {
  const doc = { asset: { version: "2.0", generator: "kiln-simulator" }, buffers: [{ byteLength: binLength }] };
  return Buffer.from(JSON.stringify(doc), "utf8");
}

// The JSON embeds N, so its length depends on N's digit count: a few fixed-point passes settle it.
// glTF requires byteLength >= 1, hence the floor of 1.
function glbBinLength(target: number): number {
  let n = 1;
  for (let i = 0; i < 3; i++) n = Math.max(1, target - GLB_FRAMING - pad4(glbJson(n).length));
  return n;
}

function glbChunk(type: number, data: Buffer, fill: number): Buffer {
  const padded = Buffer.alloc(pad4(data.length), fill);
  data.copy(padded);
  return Buffer.concat([u32le(padded.length), u32le(type), padded]);
}

function u32le(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value, 0);
  return out;
}

function glb(rand: ByteSource, target: number): Buffer {
  const bin = rand(glbBinLength(target));
  // Spec: JSON is padded with spaces (still valid JSON), BIN with zeros.
  const chunks = [glbChunk(CHUNK_JSON, glbJson(bin.length), 0x20), glbChunk(CHUNK_BIN, bin, 0)];
  const header = Buffer.concat([u32le(GLB_MAGIC), u32le(2), u32le(12 + totalLength(chunks))]);
  return Buffer.concat([header, ...chunks]);
}
