import { z } from "zod";
import { ProviderError } from "./provider-error.js";

/**
 * `{"error": {"message", "type", "code"}}`: the OpenAI-compatible error body TokenHub, the
 * gateway and wcode share. Each provider maps its own codes; the shape is read once, here.
 */
export const OpenAiErrorBody = z.looseObject({
  error: z.looseObject({ message: z.string().optional(), type: z.string().nullish(), code: z.union([z.string(), z.number()]).nullish() }),
});

/**
 * A provider answer checked against its documented shape; a mismatch is a `bad_response` naming
 * `what`, carrying the answer for the log.
 */
export function parseAnswer<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ProviderError("bad_response", `${what} did not have the documented shape: ${issuesOf(parsed.error)}`, { answer: value });
}

/** `field.path: message` per issue, so the error names the field that did not match. */
export function issuesOf(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`).join("; ");
}
