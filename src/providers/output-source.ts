/**
 * One output of a finished task, before it is archived: where its bytes are (a URL that may
 * expire, or bytes inline in the response) and what the provider says about it.
 */
export interface OutputSource {
  /** The provider's result URL, when the output is a download. */
  url?: string;
  /** Inline bytes (base64 or hex) when the provider answers with the content itself. */
  inline?: { encoding: "base64" | "hex" | "utf8"; data: string };
  /** File extension to use when the URL and the Content-Type do not tell (obj, glb, png...). */
  ext?: string;
  contentType?: string;
  /** What this output is when a task has several (e.g. `model` and `preview` for 3D). */
  role?: string;
  /** When the provider's URL stops working, if the provider or the URL's signature says. */
  expiresAt?: string;
}
