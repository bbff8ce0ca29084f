/** Returns the next `n` bytes of a seeded stream. */
type ByteSource = (n: number) => Buffer;

/**
 * A valid RIFF/WAVE file: 16-bit mono PCM at 16 kHz, seeded samples, about `target` bytes.
 * (qwen3-tts-flash answers a .wav URL.)
 */
export function wav(rand: ByteSource, target: number): Buffer {
  const dataBytes = Math.max(2, Math.floor(Math.max(0, target - 44) / 2) * 2);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write("WAVEfmt ", 8, "latin1");
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(16_000, 24);
  header.writeUInt32LE(32_000, 28); // byte rate = rate × block align
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write("data", 36, "latin1");
  header.writeUInt32LE(dataBytes, 40);
  return Buffer.concat([header, rand(dataBytes)]);
}

// MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding, no CRC: every frame is 417 bytes.
const MP3_FRAME_HEADER = Buffer.from([0xff, 0xfb, 0x90, 0x00]);
const MP3_FRAME_BYTES = 417;

/**
 * An MP3: an empty ID3v2.3 tag, then whole MPEG frames whose payload is seeded bytes, about
 * `target` bytes. (speech-2.8-hd answers such bytes hex-encoded.)
 */
export function mp3(rand: ByteSource, target: number): Buffer {
  const id3 = Buffer.from([0x49, 0x44, 0x33, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
  const frames = Math.max(1, Math.round((target - id3.length) / MP3_FRAME_BYTES));
  const parts: Buffer[] = [id3];
  for (let i = 0; i < frames; i++) parts.push(MP3_FRAME_HEADER, rand(MP3_FRAME_BYTES - MP3_FRAME_HEADER.length));
  return Buffer.concat(parts);
}
