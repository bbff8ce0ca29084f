import { describe, it, expect } from "vitest";
import { findModel } from "../../src/providers/model-registry.js";
import { describeIssues } from "../../src/contract/generation-request.js";
import { DEFAULT_SIMULATOR_OPTIONS, TaskBook, tokenHubRoute, type RouteContext } from "@kiln/dev-tools";

/**
 * The YT and HY-3D models take their original API's parameters in lower snake_case
 * (vclm SubmitImageToVideoGeneralJob / SubmitTemplateToVideoJob / SubmitHumanActorJob,
 * ai3d SubmitHunyuanTo3DProJob / SubmitHunyuanTo3DRapidJob). Each case is checked twice:
 * against kiln's input schema and against the simulator's submit route, which is written
 * from the API tables independently of kiln's schemas.
 */

/** kiln's answer: undefined when accepted, else the worker's error text (`input.<field>: ...`). */
function kilnProblem(model: string, input: Record<string, unknown>): string | undefined {
  const row = findModel("tokenhub", model);
  if (!row) throw new Error(`no model ${model}`);
  const parsed = row.input.safeParse(input);
  return parsed.success ? undefined : describeIssues(parsed.error, "input");
}

function simulatorAnswer(model: string, input: Record<string, unknown>) {
  const ctx: RouteContext = { book: new TaskBook(), options: DEFAULT_SIMULATOR_OPTIONS, random: () => 0.5, base: "http://127.0.0.1:1" };
  const family = model.startsWith("hy-3d") ? "3d" : "video";
  const answer = tokenHubRoute(`/v1/api/${family}/submit`, { model, ...input }, ctx);
  if (!answer) throw new Error("the simulator did not route the submit");
  return answer as { status: number; body: { id?: string; status?: string; error?: { type: string; code: string; message: string } } };
}

const URL_A = "https://example.com/a.jpeg";
const URL_B = "https://example.com/b.png";
const AUDIO = "https://example.com/voice.mp3";

/** Valid requests: the documented required fields, some optional ones, and an unknown field. */
const ACCEPTED: Array<[string, Record<string, unknown>]> = [
  ["yt-video-2.0", { image: { url: URL_A } }],
  ["yt-video-2.0", { image: { base64: "iVBORw0KGgo=" }, prompt: "一只猫在草原上奔跑", resolution: "720p", fps: 24 }],
  // the issue's request, as a new user would send it
  ["yt-video-fx", { template: "hug", images: [{ url: URL_A }] }],
  [
    "yt-video-fx",
    {
      template: "hug",
      images: [{ url: URL_A }, { base64: "iVBORw0KGgo=" }],
      resolution: "720p",
      bgm: true,
      logo_add: 0,
      extra_param: { callback_url: "https://example.com/cb" },
    },
  ],
  ["yt-video-humanactor", { prompt: "画面中的人物正在对着镜头讲话", audio_url: AUDIO, image_url: URL_A }],
  [
    "yt-video-humanactor",
    { prompt: "talking", audio_url: AUDIO, image_base64: "/9j/4QlQ", resolution: "720p", frame_rate: 25, logo_param: { logo_url: URL_B } },
  ],
  ["hy-3d-3.0", { prompt: "一只小狗" }],
  [
    "hy-3d-3.0",
    {
      image_url: URL_A,
      multi_view_images: [{ view_type: "left", view_image_url: URL_B }],
      enable_pbr: true,
      face_count: 40000,
      generate_type: "LowPoly",
      polygon_type: "triangle",
    },
  ],
  ["hy-3d-3.0", { prompt: "a chair, line art", image_url: URL_A, generate_type: "Sketch" }],
  ["hy-3d-3.1", { image_base64: "/9j/4QlQ", result_format: "FBX" }],
  ["hy-3d-express", { prompt: "a wooden chair", result_format: "glb", enable_pbr: false, enable_geometry: true }],
  ["hy-3d-express", { image_url: URL_A }],
];

/** Refused requests and the field the refusal must name (kiln's path and the simulator's message). */
const REFUSED: Array<[string, string, string, Record<string, unknown>]> = [
  ["yt-video-2.0", "no image", "image", { prompt: "dance" }],
  ["yt-video-2.0", "an image with neither url nor base64", "image.url", { image: {} }],
  ["yt-video-fx", "YT-Video-2.0's body", "template", { image: { url: URL_A } }],
  ["yt-video-fx", "no template", "template", { images: [{ url: URL_A }] }],
  ["yt-video-fx", "an empty template", "template", { template: " ", images: [{ url: URL_A }] }],
  ["yt-video-fx", "no images", "images", { template: "hug" }],
  ["yt-video-fx", "an empty images list", "images", { template: "hug", images: [] }],
  ["yt-video-fx", "an image with neither url nor base64", "images.1.url", { template: "hug", images: [{ url: URL_A }, {}] }],
  ["yt-video-humanactor", "no prompt", "prompt", { audio_url: AUDIO, image_url: URL_A }],
  ["yt-video-humanactor", "no audio_url", "audio_url", { prompt: "talking", image_url: URL_A }],
  ["yt-video-humanactor", "no image", "image_url", { prompt: "talking", audio_url: AUDIO }],
  ["hy-3d-3.0", "nothing to build from", "prompt", { face_count: 40000 }],
  ["hy-3d-3.0", "a prompt and an image outside Sketch", "prompt", { prompt: "a dog", image_url: URL_A }],
  ["hy-3d-3.1", "nothing to build from", "prompt", {}],
  ["hy-3d-express", "nothing to build from", "prompt", { enable_pbr: true }],
  [
    "hy-3d-express",
    "a prompt and an image (no Sketch mode)",
    "prompt",
    { prompt: "a dog", image_base64: "/9j/4QlQ", generate_type: "Sketch" },
  ],
];

describe("TokenHub original-API models: valid requests", () => {
  it.each(ACCEPTED)("%s accepts %j, and so does the simulator", (model, input) => {
    expect(kilnProblem(model, input)).toBeUndefined();
    const answer = simulatorAnswer(model, input);
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe("queued");
  });

  it("passes unknown snake_case fields through unchanged", () => {
    const input = { template: "hug", images: [{ url: URL_A, crop: "center" }], seed: 7, new_option: { a: 1 } };
    expect(findModel("tokenhub", "yt-video-fx")!.input.parse(input)).toEqual(input);
  });
});

describe("TokenHub original-API models: missing required fields", () => {
  it.each(REFUSED)("%s refuses %s, naming %s, and so does the simulator", (model, _why, field, input) => {
    const problem = kilnProblem(model, input);
    expect(problem).toMatch(new RegExp(`(^|; )input\\.${field.replace(/\./g, "\\.")}: `));
    const answer = simulatorAnswer(model, input);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ type: "invalid_request_error", code: "invalid_request_error" });
    expect(answer.body.error!.message).toContain(field);
  });

  it("says `required` for an absent field rather than a type error", () => {
    expect(kilnProblem("yt-video-fx", {})).toBe("input.template: required; input.images: required");
    expect(kilnProblem("yt-video-humanactor", { image_url: URL_A })).toBe("input.prompt: required; input.audio_url: required");
  });

  it("names the one-of groups", () => {
    expect(kilnProblem("yt-video-humanactor", { prompt: "talking", audio_url: AUDIO })).toBe(
      "input.image_url: one of image_url, image_base64 is required",
    );
    expect(kilnProblem("hy-3d-express", {})).toBe("input.prompt: one of prompt, image_url, image_base64 is required");
    expect(kilnProblem("hy-3d-3.0", { prompt: "dog", image_url: URL_A })).toBe(
      "input.prompt: send prompt or image_url/image_base64, not both (only generate_type Sketch takes both)",
    );
  });
});

describe("TokenHub original-API models: documented optional fields are typed", () => {
  it.each([
    ["yt-video-2.0", { image: { url: URL_A }, fps: "30" }, "fps"],
    ["yt-video-fx", { template: "hug", images: [{ url: "not a url" }] }, "images.0.url"],
    ["yt-video-fx", { template: "hug", images: [{ url: URL_A }], bgm: "yes" }, "bgm"],
    ["yt-video-fx", { template: "hug", images: [{ url: URL_A }], logo_add: "1" }, "logo_add"],
    ["yt-video-fx", { template: "hug", images: { url: URL_A } }, "images"],
    ["yt-video-humanactor", { prompt: "talking", audio_url: AUDIO, image_url: URL_A, frame_rate: 25.5 }, "frame_rate"],
    ["yt-video-humanactor", { prompt: "talking", audio_url: "voice.mp3", image_url: URL_A }, "audio_url"],
    ["hy-3d-3.0", { prompt: "dog", face_count: "many" }, "face_count"],
    ["hy-3d-3.1", { prompt: "dog", multi_view_images: { left: URL_A } }, "multi_view_images"],
    ["hy-3d-express", { prompt: "dog", enable_geometry: "yes" }, "enable_geometry"],
  ] as Array<[string, Record<string, unknown>, string]>)("%s refuses %j naming %s", (model, input, field) => {
    expect(kilnProblem(model, input)).toMatch(new RegExp(`^input\\.${field.replace(/\./g, "\\.")}: `));
  });

  it("still refuses camelCase and PascalCase keys with the snake_case spelling", () => {
    expect(kilnProblem("yt-video-fx", { template: "hug", images: [{ url: URL_A }], LogoAdd: 0 })).toContain(
      "input.LogoAdd: parameters are lower snake_case in this API (e.g. logo_add)",
    );
    expect(kilnProblem("hy-3d-3.0", { prompt: "dog", FaceCount: 40000 })).toContain("(e.g. face_count)");
  });
});
