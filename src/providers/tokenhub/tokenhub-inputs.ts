import { z } from "zod";
import { requestBody, requireOneOf } from "../input-schemas.js";

/**
 * Request bodies of the TokenHub models whose parameters are "those of the original API, in
 * lower snake_case" (TokenHub guide, 视频生成 › YT-Video-2.0/YT-Video-FX/YT-Video-HumanActor and
 * 3D 生成 › 提交混元生3D 任务). The original APIs are Tencent Cloud's VCLM (vclm 2024-05-23) and
 * Hunyuan 3D (ai3d 2025-05-13) actions; their parameter tables are listed per schema below and in
 * docs/providers-and-models.md. Required fields are required, the documented optional fields are
 * typed, anything else passes through (the APIs add parameters faster than kiln can list them).
 *
 * Enumerated values (resolution, generate_type, result_format...) are typed as strings, not as
 * enums: TokenHub renames the parameters but its own pages spell some values differently from
 * the original API (`result_format` "obj" where ai3d says "OBJ"), so kiln leaves values to the API.
 */

/** A missing required field reads `input.<field>: required` rather than zod's type message. */
const REQUIRED = { error: (issue: { input: unknown }) => (issue.input === undefined ? "required" : undefined) };

const text = z.string(REQUIRED).trim().min(1, { message: "must not be empty" });
const url = z.string(REQUIRED).url();
const base64 = z.string().min(1, { message: "must not be empty" });
const integer = z.number().int();

/** `Image` of vclm: `Url` or `Base64`, at least one ("Base64 和 Url 必须提供一个"). */
const image = z.looseObject({ url: url.optional(), base64: base64.optional() }, REQUIRED).superRefine(requireOneOf(["url", "base64"]));

/** `LogoParam` of vclm: a watermark image by URL or base64, and where to put it. */
const logoParam = z.looseObject({
  logo_url: z.string().optional(),
  logo_image: z.string().optional(),
  logo_rect: z
    .looseObject({ x: z.number().optional(), y: z.number().optional(), width: z.number().optional(), height: z.number().optional() })
    .optional(),
});

/** The AI-mark switch every vclm action takes: `LogoAdd` (Integer) and `LogoParam`. */
const logo = { logo_add: integer.optional(), logo_param: logoParam.optional() };

/**
 * YT-Video-2.0 = vclm SubmitImageToVideoGeneralJob (图生视频通用能力):
 * Image (required, Image), Prompt, Resolution (480p/720p/1080p), Fps (16/24/30), LogoAdd, LogoParam.
 */
export const ytVideo20 = requestBody(
  { image, prompt: z.string().optional(), resolution: z.string().optional(), fps: integer.optional(), ...logo },
  { snakeCase: true },
);

/**
 * YT-Video-FX = vclm SubmitTemplateToVideoJob (视频特效): Template (required, a template name
 * from the effects template list, e.g. "hug"), Images (required, Array of Image; how many depends
 * on the template), LogoAdd, LogoParam, Resolution (default 360p), BGM (Boolean), ExtraParam.
 */
export const ytVideoFx = requestBody(
  {
    template: text,
    images: z.array(image, REQUIRED).min(1, { message: "at least one image is required" }),
    resolution: z.string().optional(),
    bgm: z.boolean().optional(),
    extra_param: z
      .looseObject({ user_designated_url: z.string().optional(), callback_url: z.string().optional(), bgm_text: z.string().optional() })
      .optional(),
    ...logo,
  },
  { snakeCase: true },
);

/**
 * YT-Video-HumanActor = vclm SubmitHumanActorJob (人像驱动): Prompt (required, ≤5000 chars),
 * AudioUrl (required, mp3/wav 2–60 s), ImageUrl or ImageBase64 (one of them: "必传其一"),
 * Resolution (720p/1080p), FrameRate (25/50), LogoAdd, LogoParam.
 */
export const ytVideoHumanActor = requestBody(
  {
    prompt: text,
    audio_url: url,
    image_url: url.optional(),
    image_base64: base64.optional(),
    resolution: z.string().optional(),
    frame_rate: integer.optional(),
    ...logo,
  },
  { snakeCase: true },
).superRefine(requireOneOf(["image_url", "image_base64"]));

/** The 3D actions' input: a prompt or an image, one of them ("必填其一"), and not both. */
const source3d = { prompt: text.optional(), image_url: url.optional(), image_base64: base64.optional() };

/**
 * "Prompt和ImageBase64/ImageUrl不能同时存在" - except, for the Pro action, with
 * GenerateType Sketch ("此模式下prompt和ImageUrl/ImageBase64可一起输入").
 */
function promptOrImage(options: { sketchAllowsBoth: boolean }) {
  return (body: Record<string, unknown>, ctx: z.RefinementCtx) => {
    if (body.prompt === undefined || (body.image_url === undefined && body.image_base64 === undefined)) return;
    if (options.sketchAllowsBoth && typeof body.generate_type === "string" && body.generate_type.toLowerCase() === "sketch") return;
    const unless = options.sketchAllowsBoth ? " (only generate_type Sketch takes both)" : "";
    ctx.addIssue({ code: "custom", path: ["prompt"], message: `send prompt or image_url/image_base64, not both${unless}` });
  };
}

/** `ViewImage` of ai3d: one view (`left`, `right`, `back`; 3.1 adds top, bottom, left_front, right_front). */
const viewImage = z.looseObject({
  view_type: z.string().optional(),
  view_image_url: z.string().optional(),
  view_image_base64: z.string().optional(),
});

/**
 * HY-3D-3.0 / HY-3D-3.1 = ai3d SubmitHunyuanTo3DProJob (混元生3D 专业版): Prompt, ImageBase64,
 * ImageUrl (one of the three), MultiViewImages (Array of ViewImage), EnablePBR, FaceCount,
 * GenerateType (Normal/LowPoly/Geometry/Sketch), PolygonType, ResultFormat. The action's `Model`
 * (3.0/3.1) is TokenHub's `model`, which kiln sets from the job.
 */
export const hy3dPro = requestBody(
  {
    ...source3d,
    multi_view_images: z.array(viewImage).optional(),
    enable_pbr: z.boolean().optional(),
    face_count: integer.optional(),
    generate_type: z.string().optional(),
    polygon_type: z.string().optional(),
    result_format: z.string().optional(),
  },
  { snakeCase: true },
)
  .superRefine(requireOneOf(["prompt", "image_url", "image_base64"]))
  .superRefine(promptOrImage({ sketchAllowsBoth: true }));

/**
 * HY-3D-Express = ai3d SubmitHunyuanTo3DRapidJob (混元生3D 极速版): Prompt, ImageBase64, ImageUrl
 * (one of the three, prompt not with an image), ResultFormat, EnablePBR, EnableGeometry.
 */
export const hy3dExpress = requestBody(
  { ...source3d, result_format: z.string().optional(), enable_pbr: z.boolean().optional(), enable_geometry: z.boolean().optional() },
  { snakeCase: true },
)
  .superRefine(requireOneOf(["prompt", "image_url", "image_base64"]))
  .superRefine(promptOrImage({ sketchAllowsBoth: false }));
