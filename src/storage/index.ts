import type { ArchiveStore } from "./archive-store.js";
import { ArchiveMemoryBudget } from "./archive-memory-budget.js";
import { LocalArchiveStore } from "./local-archive-store.js";
import { S3ArchiveStore } from "./s3-archive-store.js";

export { ArchiveMemoryBudget } from "./archive-memory-budget.js";
export type { ArchiveStore, PutOptions, StoredObject } from "./archive-store.js";
export { ArchiveKeyError, isArchiveKeyError } from "./archive-store.js";
export { HashingStream } from "./hashing-stream.js";
export { LocalArchiveStore } from "./local-archive-store.js";
export { DEFAULT_OUTPUT_URL_TTL_MS, outputLinksOf, outputPresigner, type OutputUrlSettings } from "./output-presigner.js";
export { S3ArchiveStore, S3_STORE_DEFAULTS, type S3StoreOptions } from "./s3-archive-store.js";

/**
 * The archive settings `createArchiveStore` reads, named as the environment variables that set
 * them (config/archive.ts parses them; the environment as a whole satisfies this interface).
 */
export interface ArchiveSettings {
  S3_BUCKET?: string;
  S3_REGION: string;
  S3_ENDPOINT?: string;
  S3_FORCE_PATH_STYLE: boolean;
  S3_CHECKSUMS: "when_supported" | "when_required";
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
  ARCHIVE_DIR: string;
  /** Bytes every S3 upload of the process shares for its parts (see `ArchiveMemoryBudget`). */
  KILN_ARCHIVE_MEMORY: number;
}

/** S3 when `S3_BUCKET` is set, else the local directory `ARCHIVE_DIR`. */
export function createArchiveStore(env: ArchiveSettings): ArchiveStore {
  if (!env.S3_BUCKET) return new LocalArchiveStore(env.ARCHIVE_DIR);
  return new S3ArchiveStore({
    bucket: env.S3_BUCKET,
    region: env.S3_REGION,
    endpoint: env.S3_ENDPOINT,
    forcePathStyle: env.S3_FORCE_PATH_STYLE,
    checksums: env.S3_CHECKSUMS,
    budget: ArchiveMemoryBudget.forProcess(env.KILN_ARCHIVE_MEMORY),
    credentials:
      env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY
        ? { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY }
        : undefined,
  });
}
