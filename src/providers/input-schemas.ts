import { z } from "zod";

const SNAKE_CASE = /^[a-z][a-z0-9_]*$/;

/**
 * A provider request body without `model`: an object whose documented fields are checked and
 * whose other fields pass through untouched (providers add parameters faster than we could
 * list them). `model` is refused because kiln sets it from the job's `model`.
 */
export function requestBody<T extends z.ZodRawShape>(shape: T, options: { snakeCase?: boolean } = {}) {
  return z.looseObject(shape).superRefine((body, ctx) => {
    if ("model" in body)
      ctx.addIssue({ code: "custom", path: ["model"], message: "must not be set inside input; use the job's model field" });
    if (!options.snakeCase) return;
    for (const key of Object.keys(body)) {
      if (!SNAKE_CASE.test(key)) {
        ctx.addIssue({ code: "custom", path: [key], message: `parameters are lower snake_case in this API (e.g. ${toSnakeCase(key)})` });
      }
    }
  });
}

/** At least one of `keys` must be present: a request with none of them cannot produce anything. */
export function requireOneOf<T extends Record<string, unknown>>(keys: string[]) {
  return (body: T, ctx: z.RefinementCtx) => {
    if (keys.some((k) => body[k] !== undefined)) return;
    ctx.addIssue({ code: "custom", path: [keys[0] ?? ""], message: `one of ${keys.join(", ")} is required` });
  };
}

function toSnakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}
