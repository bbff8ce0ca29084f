/**
 * The simulator's stand-in for TokenHub's parameter checks on a submit: the required fields of
 * each model's original API (vclm SubmitImageToVideoGeneralJob / SubmitTemplateToVideoJob /
 * SubmitHumanActorJob, ai3d SubmitHunyuanTo3DProJob / SubmitHunyuanTo3DRapidJob), in lower
 * snake_case. Written from the API tables, not from kiln's schemas, so a test through the
 * simulator checks kiln against the API's rules rather than against itself.
 *
 * Returns the problem (naming the field) or undefined when the body would be accepted.
 */
export function tokenHubInputProblem(model: string, body: Record<string, unknown>): string | undefined {
  if (model.startsWith("hy-image")) return hasText(body.prompt) || body.image || body.images ? undefined : "prompt is required";
  switch (model) {
    case "yt-video-2.0":
      return imageProblem(body.image, "image");
    case "yt-video-fx":
      if (!hasText(body.template)) return "template is required";
      if (!Array.isArray(body.images) || body.images.length === 0) return "images is required";
      return body.images.map((img, i) => imageProblem(img, `images.${i}`)).find((p) => p !== undefined);
    case "yt-video-humanactor":
      if (!hasText(body.prompt)) return "prompt is required";
      if (!hasText(body.audio_url)) return "audio_url is required";
      return hasText(body.image_url) || hasText(body.image_base64) ? undefined : "image_url or image_base64 is required";
    case "hy-3d-3.0":
    case "hy-3d-3.1":
      return sourceProblem(body, (typeof body.generate_type === "string" ? body.generate_type : "").toLowerCase() === "sketch");
    case "hy-3d-express":
      return sourceProblem(body, false);
    default:
      return undefined;
  }
}

function hasText(value: unknown): boolean {
  return typeof value === "string" && value.trim().length > 0;
}

/** vclm `Image`: an object with `url` or `base64`. */
function imageProblem(value: unknown, field: string): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `${field} is required (an object with url or base64)`;
  const img = value as Record<string, unknown>;
  return hasText(img.url) || hasText(img.base64) ? undefined : `${field}.url or ${field}.base64 is required`;
}

/** ai3d: one of prompt, image_url, image_base64; prompt and an image not together (Sketch excepted). */
function sourceProblem(body: Record<string, unknown>, bothAllowed: boolean): string | undefined {
  const prompt = hasText(body.prompt);
  const image = hasText(body.image_url) || hasText(body.image_base64);
  if (!prompt && !image) return "one of prompt, image_url, image_base64 is required";
  if (prompt && image && !bothAllowed) return "prompt and image_url/image_base64 cannot be sent together";
  return undefined;
}
