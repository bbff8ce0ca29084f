import { z } from "zod";

// The kinds of value kiln's variables hold, shared by the areas' schemas.

/** "true"/"false"/"1"/"0" (any case) as a boolean; anything else is an error naming the variable. */
export const Flag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ["true", "false", "1", "0", ""].includes(v), { message: "expected true or false" })
  .transform((v) => v === "true" || v === "1");

export const Url = z.string().trim().url({ message: "expected a URL" });

/** A comma-separated list of base URLs, tried in order. */
export const UrlList = z
  .string()
  .transform((v) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .pipe(z.array(Url).min(1, { message: "expected at least one URL" }));

export const PositiveNumber = z.coerce
  .number({ message: "expected a positive number" })
  .positive({ message: "expected a positive number" });

/** A secret or token: any non-empty text. */
export const Secret = z.string().min(1);

/** A random token guarding an HTTP surface: at least 16 characters. */
export function Token(message = "expected at least 16 characters (a random token)") {
  return z.string().min(16, { message });
}

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A duration such as `500ms`, `20s`, `15m` or `2h` (a bare number is seconds), as milliseconds. */
export const Duration = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, { message: "expected a duration such as 500ms, 20s, 15m or 2h" })
  .transform((v) => {
    const [, amount = "0", unit = "s"] = /^([\d.]+)(ms|s|m|h)?$/.exec(v) ?? [];
    return Math.round(Number(amount) * DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS]);
  });

const BYTE_UNITS = { "": 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 } as const;

/** A size such as `192MiB`, `64m` or `1GiB` (binary units; a bare number is bytes), as bytes. */
export const ByteSize = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^\d+(\.\d+)?\s*(k|kib|m|mib|g|gib)?$/, { message: "expected a size such as 192MiB, 64m or 1GiB" })
  .transform((v) => {
    const [, amount = "0", unit = ""] = /^([\d.]+)\s*([a-z]*)$/.exec(v) ?? [];
    return Math.floor(Number(amount) * BYTE_UNITS[unit as keyof typeof BYTE_UNITS]);
  });

/** A whole number from `min` to `max`, the range named in every refusal. */
export function WholeNumber(min: number, max: number, { whole = "expected a whole number", range = `expected ${min} to ${max}` } = {}) {
  return z.coerce.number({ message: range }).int({ message: whole }).min(min, { message: range }).max(max, { message: range });
}

/** A task deadline: a duration of at least a second. */
export const Deadline = Duration.pipe(z.number().min(1000, { message: "expected at least 1s" }));

/** The model kinds' names in per-kind variables (`KILN_DEADLINE_<KIND>`, `KILN_MAX_OUTPUT_BYTES_<KIND>`, ...). */
export const KIND_NAMES = ["IMAGE", "VIDEO", "3D", "AUDIO", "TEXT"] as const;
