/** A job id already used by a different request: the HTTP API answers 409, `kiln enqueue` exits 4. */
export class IdConflictError extends Error {
  override name = "IdConflictError";
  /** Structural marker: `instanceof` breaks across duplicated copies of this package. */
  readonly isIdConflictError = true;
}

export function isIdConflictError(err: unknown): err is IdConflictError {
  return typeof err === "object" && err !== null && (err as { isIdConflictError?: unknown }).isIdConflictError === true;
}
