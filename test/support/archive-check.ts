import { createHash } from "node:crypto";
import type { ArchiveStore } from "../../src/storage/archive-store.js";

/** sha256 and size of an object as the store holds it, read back in full. */
export async function storedDigest(store: ArchiveStore, key: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of await store.get(key)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}
