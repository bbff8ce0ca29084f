import { z } from "zod";

/** Longest archive prefix, in bytes (the prefix is ASCII, so characters too). */
export const MAX_ARCHIVE_PREFIX_BYTES = 512;

const SEGMENT_CHARS = /^[A-Za-z0-9_.-]+$/;

/**
 * The same rule as `archivePrefixProblem`, as a JSON Schema pattern for producers in other
 * languages (with `maxLength`): segments of letters, digits and `-_.`, joined by single `/`,
 * none `.` or `..`.
 */
export const ARCHIVE_PREFIX_PATTERN = "^(?!\\.\\.?(?:/|$))(?!.*/\\.\\.?(?:/|$))[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$";

const RULE =
  "segments of letters, digits and -_. joined by single '/' (no leading, trailing or double '/', no '.' or '..' segment), at most 512 characters";

/**
 * Why `prefix` cannot prefix archive keys, or undefined when it can. Every key kiln writes
 * starts with it, in S3 and under ARCHIVE_DIR alike: a prefix that could name a parent
 * directory, an absolute path or an empty path segment would put the key outside the store's
 * root or make two spellings of one folder, so those are refused where the prefix enters.
 */
export function archivePrefixProblem(prefix: string): string | undefined {
  if (prefix.length === 0) return "must not be empty";
  if (Buffer.byteLength(prefix) > MAX_ARCHIVE_PREFIX_BYTES) return `must be at most ${MAX_ARCHIVE_PREFIX_BYTES} bytes`;
  // control characters (NUL included) get their own message: they are invisible in the value echoed back
  if (hasControlCharacter(prefix)) return "must not contain control characters (NUL included)";
  if (prefix.startsWith("/")) return "must not start with '/' (keys are relative to the archive's root)";
  const segments = prefix.split("/");
  if (segments.includes("")) return "must not contain empty segments ('//' or a trailing '/')";
  if (segments.some((s) => s === "." || s === "..")) return "must not contain '.' or '..' segments";
  if (!segments.every((s) => SEGMENT_CHARS.test(s))) return "letters, digits and -_./ only";
  return undefined;
}

/**
 * A key prefix in the archive store: a job's `archive.prefix` and a batch's `archive_prefix`.
 * The JSON Schema carries the rule as a pattern; zod checks it with a message per broken rule.
 */
export const ArchivePrefix = z
  .string()
  .superRefine((prefix, ctx) => {
    const problem = archivePrefixProblem(prefix);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .meta({ pattern: ARCHIVE_PREFIX_PATTERN, maxLength: MAX_ARCHIVE_PREFIX_BYTES, description: RULE });

/** C0 and C1 control characters and DEL. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
