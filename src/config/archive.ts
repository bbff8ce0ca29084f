import { z } from "zod";
import { DEFAULT_ARCHIVE_MEMORY } from "../storage/archive-memory-budget.js";
import { configError } from "./errors.js";
import { ByteSize, Deadline, Duration, Flag, KIND_NAMES, Secret, Url } from "./values.js";

/** The most bytes one output may have: at least 1 KiB, at most 5 TiB (S3's largest object). */
const OutputSize = ByteSize.pipe(
  z
    .number()
    .min(1024, { message: "expected at least 1KiB" })
    .max(5 * 1024 ** 4, { message: "expected at most 5 TiB, S3's largest object" }),
);

/** The most time one download may take, redirects, headers and body together: 1 s to 24 h. */
const DownloadTimeout = Duration.pipe(
  z.number().min(1000, { message: "expected at least 1s" }).max(86_400_000, { message: "expected at most 24h" }),
);

/** How long a presigned output URL lasts: 1 s to 7 days (the longest S3 signs for). */
const OutputUrlTtl = Duration.pipe(
  z
    .number()
    .min(1000, { message: "expected at least 1s" })
    .max(7 * 86_400_000, { message: "expected at most 7d, S3's longest presigned URL" }),
);

/** Where outputs are archived (an S3 bucket, else a local directory) and what one download may cost. */
export const ArchiveConfig = z.object({
  /** The S3 API's endpoint, for MinIO, R2, Ceph... (needs `S3_BUCKET`). Unset by default: AWS. */
  S3_ENDPOINT: Url.optional(),
  /** The bucket's region. Default `us-east-1`. */
  S3_REGION: z.string().min(1).default("us-east-1"),
  /** The archive bucket, at least 3 characters. Unset by default: the local directory `ARCHIVE_DIR`. */
  S3_BUCKET: z.string().min(3, { message: "expected a bucket name of at least 3 characters" }).optional(),
  /** S3 credentials: set both or neither. Unset by default: the AWS SDK's default chain. */
  S3_ACCESS_KEY_ID: Secret.optional(),
  /** See `S3_ACCESS_KEY_ID`. */
  S3_SECRET_ACCESS_KEY: Secret.optional(),
  /** Path-style bucket URLs, for MinIO and most self-hosted stores. Default false. */
  S3_FORCE_PATH_STYLE: Flag.default(false),
  /** The SDK's request/response checksums: `when_supported` (default) or `when_required`, for stores that reject them. */
  S3_CHECKSUMS: z.enum(["when_supported", "when_required"]).default("when_supported"),
  /** The local archive when no bucket is set. Default `./kiln-archive`. */
  ARCHIVE_DIR: z.string().min(1).default("./kiln-archive"),
  /** Part buffers of all S3 archive uploads in this process together (docs/operations.md, "Archive memory"): at least 8 MiB. Default 192 MiB. */
  KILN_ARCHIVE_MEMORY: ByteSize.pipe(z.number().min(8 * 1024 ** 2, { message: "expected at least 8MiB" })).default(DEFAULT_ARCHIVE_MEMORY),
  /** The most bytes one image output may have: 1 KiB to 5 TiB. Default 64 MiB (`DEFAULT_OUTPUT_LIMITS`). */
  KILN_MAX_OUTPUT_BYTES_IMAGE: OutputSize.optional(),
  /** The same for a video: default 4 GiB. */
  KILN_MAX_OUTPUT_BYTES_VIDEO: OutputSize.optional(),
  /** The same for a 3D model: default 4 GiB. */
  KILN_MAX_OUTPUT_BYTES_3D: OutputSize.optional(),
  /** The same for audio: default 256 MiB. */
  KILN_MAX_OUTPUT_BYTES_AUDIO: OutputSize.optional(),
  /** The same for text (an answer and its JSON): default 16 MiB. */
  KILN_MAX_OUTPUT_BYTES_TEXT: OutputSize.optional(),
  /** The most time one download of an image output may take: 1 s to 24 h. Default 5 m. */
  KILN_DOWNLOAD_TIMEOUT_IMAGE: DownloadTimeout.optional(),
  /** The same for a video: default 1 h. */
  KILN_DOWNLOAD_TIMEOUT_VIDEO: DownloadTimeout.optional(),
  /** The same for a 3D model: default 1 h. */
  KILN_DOWNLOAD_TIMEOUT_3D: DownloadTimeout.optional(),
  /** The same for audio: default 10 m. */
  KILN_DOWNLOAD_TIMEOUT_AUDIO: DownloadTimeout.optional(),
  /** The same for text: default 2 m. */
  KILN_DOWNLOAD_TIMEOUT_TEXT: DownloadTimeout.optional(),
  /** How long archiving retries after the provider finished, before the job fails `archive_failed`: at least 1 s. Default 1 h. */
  KILN_ARCHIVE_DEADLINE: Deadline.optional(),
  /**
   * How long the URL `GET /v1/generations/{id}/outputs/{index}` redirects to stays valid, when
   * the archive is S3 (a presigned GET). Default 1 h.
   */
  KILN_OUTPUT_URL_TTL: OutputUrlTtl.optional(),
  /**
   * `presigned`: `GET /v1/generations/{id}`, `kiln status` and result webhooks give every output
   * an `href` (a presigned GET valid for `KILN_OUTPUT_URL_TTL`) and its `expiresAt`, minted at
   * each read and delivery attempt. Needs an S3 archive. Default `off`.
   */
  KILN_OUTPUT_URLS: z.enum(["off", "presigned"], { message: "expected off or presigned" }).default("off"),
});
export type ArchiveConfig = z.infer<typeof ArchiveConfig>;

/** S3 variables only make sense together: a bucket with half its credentials is a mistake. */
export function checkS3<E extends ArchiveConfig>(env: E): E {
  const hasKey = env.S3_ACCESS_KEY_ID !== undefined;
  const hasSecret = env.S3_SECRET_ACCESS_KEY !== undefined;
  if (hasKey !== hasSecret) {
    throw configError(
      `${hasKey ? "S3_SECRET_ACCESS_KEY" : "S3_ACCESS_KEY_ID"}: required when ${hasKey ? "S3_ACCESS_KEY_ID" : "S3_SECRET_ACCESS_KEY"} is set`,
    );
  }
  if (env.S3_ENDPOINT && !env.S3_BUCKET) {
    throw configError("S3_BUCKET: required when S3_ENDPOINT is set");
  }
  if (env.KILN_OUTPUT_URLS === "presigned" && !env.S3_BUCKET) {
    // a local archive has no URL a caller could fetch without kiln's token, so none is made up
    throw configError(
      "KILN_OUTPUT_URLS: presigned needs an S3 archive (S3_BUCKET); the local archive (ARCHIVE_DIR) cannot presign URLs, its outputs are served by GET /v1/generations/{id}/outputs/{index}",
    );
  }
  if (env.S3_BUCKET) checkPartsFit(env);
  return env;
}

/**
 * S3 allows 10,000 parts, so an output limit sets the part size (limit ÷ 10,000), and each
 * archive in flight holds up to five parts of the process's archive memory. A limit whose parts
 * cannot fit would fail every archive of its kind, so it is refused at start-up.
 */
function checkPartsFit(env: ArchiveConfig): void {
  for (const kind of KIND_NAMES) {
    const limit = env[`KILN_MAX_OUTPUT_BYTES_${kind}`];
    if (limit !== undefined && Math.ceil(limit / 10_000) * 5 > env.KILN_ARCHIVE_MEMORY)
      throw configError(
        `KILN_MAX_OUTPUT_BYTES_${kind}: its S3 parts (limit ÷ 10,000 parts, 5 in flight) do not fit KILN_ARCHIVE_MEMORY (${env.KILN_ARCHIVE_MEMORY} bytes); raise the memory or lower the limit (at most 2,000 × KILN_ARCHIVE_MEMORY)`,
      );
  }
}
