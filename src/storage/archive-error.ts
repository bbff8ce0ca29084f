/**
 * An archive that cannot succeed however often it is tried (an output over its size limit, a
 * key the store refuses): the job ends at once with `archive_failed`, instead of retrying until
 * the archive deadline.
 */
export class ArchiveError extends Error {
  override name = "ArchiveError";
  /** Structural marker: `instanceof` breaks across duplicated copies of this package. */
  readonly isArchiveError = true;
}

export function isArchiveError(err: unknown): err is ArchiveError {
  return typeof err === "object" && err !== null && (err as { isArchiveError?: unknown }).isArchiveError === true;
}
