import type { Usage } from "../contract/usage.js";
import type { ModelSpec } from "../providers/model-spec.js";
import type { OutputSource } from "../providers/output-source.js";
import { assertNever } from "../util/assert-never.js";
import { findModel } from "../providers/model-registry.js";

/**
 * A finished task's usage: what the provider reported when it reported anything; otherwise
 * only what is certain from the answer (the images, videos or model files it returned) and, for
 * a video whose answer gives no length, the seconds the request asked for. Text and speech
 * without a reported usage have none: their figures cannot be counted from the outputs; nor
 * has a pass-through model, whose kind kiln does not know.
 */
export function usageOf(
  model: Pick<ModelSpec, "kind" | "provider" | "id">,
  input: Record<string, unknown>,
  reported: Usage | undefined,
  sources: readonly OutputSource[],
): Usage | undefined {
  if (reported) return reported;
  // a pass-through model's kind is a guess (the gateway reads any unknown model as video): nothing is certain of it
  if (!findModel(model.provider, model.id)) return undefined;
  switch (model.kind) {
    case "image":
      return { source: "outputs", images: sources.length };
    case "video": {
      // a video task may also return its cover image
      const videos = sources.filter((s) => s.role !== "cover").length;
      return typeof input.duration === "number"
        ? { source: "request", videos, seconds: input.duration * videos }
        : { source: "outputs", videos };
    }
    case "3d":
      return { source: "outputs", models: sources.filter((s) => s.role !== "preview").length };
    case "audio":
    case "text":
      return undefined;
    default:
      return assertNever(model.kind, "model kind");
  }
}
