import { createHash } from "node:crypto";
import { stringify } from "safe-stable-stringify";
import type { GenerationRequest } from "../contract/generation-request.js";
import { tenantOf } from "../contract/tenant.js";
import type { ModelSpec } from "../providers/model-spec.js";

/** Bumped whenever what goes into a key changes: keys of an earlier rule then never match. */
const KEY_VERSION = 1;

/**
 * The reuse key of a request: SHA-256 of its tenant, queue, the provider and model it runs
 * (its own, or a fallback's) and their canonical input. Two
 * requests share a key exactly when the provider would be sent the same request by the same
 * tenant, whatever the order of their keys, the whitespace of their JSON, or whether they
 * spell out a documented default (`temperature: 1` where the model's default is 1). Fields that
 * do not reach the provider (webhook, metadata, archive prefix, batch) are not in the key.
 */
export function reuseKey(
  request: Pick<GenerationRequest, "provider" | "tenant">,
  model: ModelSpec,
  input: Record<string, unknown>,
): string {
  const canonical = stringify({
    v: KEY_VERSION,
    tenant: tenantOf(request),
    // the queue's provider, where every job sharing the key lives (a fallback runs in its request's queue)
    queue: request.provider,
    provider: model.provider,
    model: model.id,
    input: withoutDefaults(input, model.defaults),
  });
  // an object always serialises: stringify answers undefined only for undefined, functions and symbols
  return createHash("sha256").update(canonical!).digest("hex");
}

/** The input without the top-level fields that equal the model's documented default (`ModelSpec.defaults`). */
function withoutDefaults(input: Record<string, unknown>, defaults: ModelSpec["defaults"]): Record<string, unknown> {
  if (!defaults) return input;
  return Object.fromEntries(Object.entries(input).filter(([field, value]) => !(field in defaults && sameJson(value, defaults[field]))));
}

function sameJson(a: unknown, b: unknown): boolean {
  return stringify(a) === stringify(b);
}
