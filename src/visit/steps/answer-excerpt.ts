import { redactSecrets } from "../../logger.js";
import { REDACTED, type SecretScrubber } from "../../util/secret-scrubber.js";

/** At most this many bytes of an unreadable answer reach the log. */
const ANSWER_EXCERPT_BYTES = 2048;

/**
 * Provider text as a log or a result may keep it: every configured secret replaced, bearer
 * tokens blanked, and the query strings of URLs dropped (a result URL's signature grants the
 * download). The whole text is scrubbed before any cut, so a secret across the cut cannot
 * leave its first half behind.
 */
export function scrubText(text: string, secrets: SecretScrubber): string {
  return secrets
    .scrub(text)
    .replace(/\b(Bearer\s+)[\w.~+/=-]+/gi, `$1${REDACTED}`)
    .replace(/(https?:\/\/[^\s"'<>?#]*)\?[^\s"'<>#]*/g, "$1?…");
}

/**
 * An answer kiln could not read, for the log: fields named like credentials blanked (as the
 * logger does), then `scrubText`, then cut to `maxBytes` of UTF-8 with the full size noted.
 */
export function answerExcerpt(answer: unknown, secrets: SecretScrubber, maxBytes = ANSWER_EXCERPT_BYTES): string {
  const text = scrubText(typeof answer === "string" ? answer : jsonOf(redactSecrets(answer)), secrets);
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  // a cut through a multi-byte character decodes to U+FFFD: drop it rather than log a broken character
  const head = bytes
    .subarray(0, maxBytes)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
  return `${head}… (${bytes.length} bytes in all)`;
}

function jsonOf(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
