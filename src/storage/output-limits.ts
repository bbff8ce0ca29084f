import type { ModelKind } from "../providers/model-kind.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** What one output of a model kind may cost to download. */
export interface OutputLimits {
  /** The kind the limits are for: named in refusals, with the variable that sets them. */
  kind: ModelKind;
  /** The most bytes an output may have (`KILN_MAX_OUTPUT_BYTES_<KIND>`). */
  maxBytes: number;
  /** The most time one download may take, from the request to its last byte (`KILN_DOWNLOAD_TIMEOUT_<KIND>`), ms. */
  timeoutMs: number;
}

/**
 * The defaults per kind. Sizes are what a provider's largest honest output of the kind comes to
 * with room to spare; times let the largest output arrive at about 2 MiB/s, and never less than
 * a few minutes, so a slow but honest link finishes while a server sending a byte now and then
 * cannot hold a worker for long.
 */
const DEFAULT_OUTPUT_LIMITS: Readonly<Record<ModelKind, Omit<OutputLimits, "kind">>> = {
  image: { maxBytes: 64 * MiB, timeoutMs: 5 * 60_000 },
  audio: { maxBytes: 256 * MiB, timeoutMs: 10 * 60_000 },
  video: { maxBytes: 4 * GiB, timeoutMs: 60 * 60_000 },
  "3d": { maxBytes: 4 * GiB, timeoutMs: 60 * 60_000 },
  // answers and their JSON: the size of the largest provider answer kiln reads
  text: { maxBytes: 16 * MiB, timeoutMs: 2 * 60_000 },
};

/** The limits of `kind`: the operator's where set, else the defaults. */
export function outputLimitsFor(kind: ModelKind, set: Partial<Record<ModelKind, Partial<Omit<OutputLimits, "kind">>>> = {}): OutputLimits {
  return { kind, ...DEFAULT_OUTPUT_LIMITS[kind], ...definedOnly(set[kind]) };
}

/** The variable that sets `limit` for `kind`, for messages: `KILN_MAX_OUTPUT_BYTES_VIDEO`. */
export function limitVariable(limit: "maxBytes" | "timeoutMs", kind: ModelKind): string {
  return `${limit === "maxBytes" ? "KILN_MAX_OUTPUT_BYTES_" : "KILN_DOWNLOAD_TIMEOUT_"}${kind.toUpperCase()}`;
}

/** `64 MiB`, `4 GiB`, `1500 bytes`: a size as an operator wrote it. */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  return `${bytes} bytes`;
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
