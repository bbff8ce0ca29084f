import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/** One manifest line: its 1-based number, and its JSON value or why it is not JSON. */
export type ManifestLine = { lineNumber: number; value: unknown } | { lineNumber: number; error: string };

/**
 * Reads a JSONL manifest line by line: memory stays constant whatever the file's size.
 * Blank lines are skipped; `onBytes` reports progress in bytes read.
 */
export async function* readManifest(path: string, onBytes?: (bytesRead: number) => void): AsyncGenerator<ManifestLine> {
  const stream = createReadStream(path);
  if (onBytes) stream.on("data", () => onBytes(stream.bytesRead));
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const text of lines) {
      lineNumber++;
      if (!text.trim()) continue;
      try {
        yield { lineNumber, value: JSON.parse(text) as unknown };
      } catch (err) {
        yield { lineNumber, error: `not valid JSON (${(err as Error).message})` };
      }
    }
  } finally {
    // a caller that stops early closes the lines, not the file: the descriptor is closed here
    stream.destroy();
  }
}
