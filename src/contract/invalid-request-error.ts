/** A request refused before it reached Redis; `message` names each bad field. */
export class InvalidRequestError extends Error {
  override name = "InvalidRequestError";
  /** Structural marker: `instanceof` breaks across duplicated copies of this package. */
  readonly isInvalidRequestError = true;
}

export function isInvalidRequestError(err: unknown): err is InvalidRequestError {
  return typeof err === "object" && err !== null && (err as { isInvalidRequestError?: unknown }).isInvalidRequestError === true;
}
