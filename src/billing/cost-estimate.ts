import type { Usage } from "../contract/usage.js";
import type { ModelSpec } from "../providers/model-spec.js";
import { assertNever } from "../util/assert-never.js";
import { costOf } from "./cost-of.js";
import type { DecimalAmount } from "./decimal-amount.js";
import type { ModelPrice, PriceUnit } from "./price-table.js";

/** A cost known before submit (the budget reserves it), or why it cannot be known. */
export type CostEstimate = { ok: true; amount: DecimalAmount; usage: Usage } | { ok: false; reason: string };

const count = (value: unknown, fallback: number) => (typeof value === "number" && Number.isInteger(value) && value > 0 ? value : fallback);

/** The text of a request's messages (the unified body's prompt, a chat's conversation). */
function messagesText(input: Record<string, unknown>): string {
  const messages = Array.isArray(input.messages) ? (input.messages as Array<{ content?: unknown }>) : [];
  return messages.map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? ""))).join("\n");
}

/**
 * The usage a request will have at most, from the request alone:
 * - image: `n` images (1 when not asked for);
 * - video: one video, of `duration` seconds when the request gives one;
 * - 3D: one model file;
 * - speech: the characters of its text;
 * - text: prompt tokens at most the UTF-8 bytes of the messages (a token is at least a byte),
 *   completion tokens at most `max_completion_tokens` or `max_tokens` when the request sets one.
 * A figure the request does not bound is absent, so a price in that unit has no estimate.
 */
export function estimatedUsage(model: Pick<ModelSpec, "kind">, input: Record<string, unknown>): Usage {
  switch (model.kind) {
    case "image":
      return { source: "request", images: count(input.n, 1) };
    case "video":
      return { source: "request", videos: 1, seconds: typeof input.duration === "number" ? input.duration : undefined };
    case "3d":
      return { source: "request", models: 1 };
    case "audio":
      return { source: "request", characters: [...messagesText(input)].length };
    case "text": {
      const limit = input.max_completion_tokens ?? input.max_tokens;
      return {
        source: "request",
        promptTokens: Buffer.byteLength(messagesText(input)),
        completionTokens: typeof limit === "number" && Number.isInteger(limit) && limit >= 0 ? limit : undefined,
      };
    }
    default:
      return assertNever(model.kind, "model kind");
  }
}

/** What a request must say for a price in each unit to be estimated. */
const NEEDS: Partial<Record<PriceUnit, string>> = {
  per_second: "a video's input.duration (speech seconds are known only from the answer)",
  per_1k_completion_tokens: "input.max_tokens or input.max_completion_tokens",
};

/** The most `input` can cost at `price`, for a budget's reservation. */
export function estimateCost(model: Pick<ModelSpec, "kind">, input: Record<string, unknown>, price: ModelPrice): CostEstimate {
  const usage = estimatedUsage(model, input);
  const amount = costOf(price, usage);
  if (amount !== undefined) return { ok: true, amount, usage };
  const missing = (Object.keys(price) as PriceUnit[]).filter((unit) => NEEDS[unit]).map((unit) => `${unit} needs ${NEEDS[unit]}`);
  return { ok: false, reason: `its cost cannot be estimated before it runs: ${missing.join("; ") || "a priced figure is unknown"}` };
}
