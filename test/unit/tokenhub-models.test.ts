import { describe, it, expect } from "vitest";
import { findModel } from "../../src/providers/model-registry.js";
import { POLL_POLICIES } from "../../src/providers/poll-policy.js";
import { TOKENHUB_MODELS } from "../../src/providers/tokenhub/tokenhub-models.js";

function schemaOf(id: string) {
  const model = findModel("tokenhub", id);
  if (!model) throw new Error(`no model ${id}`);
  return model.input;
}

/** The guide's image, video and 3D models: id, table name, kind, endpoint family, mode. */
const MEDIA_MODELS = [
  ["hy-image-v3.0", "HY-Image-V3.0", "image", "image", "async"],
  ["hy-image-lite", "HY-Image-Lite", "image", "image-lite", "sync"],
  ["hy-video-1.5", "HY-Video-1.5", "video", "video", "async"],
  ["yt-video-2.0", "YT-Video-2.0", "video", "video", "async"],
  ["yt-video-fx", "YT-Video-FX", "video", "video", "async"],
  ["yt-video-humanactor", "YT-Video-HumanActor", "video", "video", "async"],
  ["hy-3d-3.0", "HY-3D-3.0", "3d", "3d", "async"],
  ["hy-3d-3.1", "HY-3D-3.1", "3d", "3d", "async"],
  ["hy-3d-express", "HY-3D-Express", "3d", "3d", "async"],
] as const;

describe("findModel", () => {
  it("finds a model by its table name or its lower-case id", () => {
    expect(findModel("tokenhub", "HY-Image-V3.0")?.id).toBe("hy-image-v3.0");
    expect(findModel("tokenhub", "hy-image-v3.0")?.id).toBe("hy-image-v3.0");
  });

  it("is undefined for an unknown model or provider", () => {
    expect(findModel("tokenhub", "hy-image-v9")).toBeUndefined();
    expect(findModel("other", "hy-image-v3.0")).toBeUndefined();
  });
});

describe("TOKENHUB_MODELS", () => {
  it.each(MEDIA_MODELS)("%s (%s) is a %s model on the %s endpoint, %s", (id, displayName, kind, endpoint, mode) => {
    const row = findModel("tokenhub", displayName);
    expect(row).toMatchObject({ provider: "tokenhub", id, displayName, kind, endpoint, mode });
    expect(row?.poll).toEqual(POLL_POLICIES[kind]);
  });

  it("has HY-Image-Lite as the only synchronous image/video/3D model", () => {
    const media = TOKENHUB_MODELS.filter((m) => ["image", "video", "3d"].includes(m.kind));
    expect(media.map((m) => m.id).sort()).toEqual(MEDIA_MODELS.map(([id]) => id).sort());
    expect(media.filter((m) => m.mode === "sync").map((m) => m.id)).toEqual(["hy-image-lite"]);
  });
});

describe("TokenHub input schemas", () => {
  it("hy-image-v3.0 requires a non-empty prompt", () => {
    expect(schemaOf("hy-image-v3.0").safeParse({ prompt: "a red fox" }).success).toBe(true);
    const missing = schemaOf("hy-image-v3.0").safeParse({});
    expect(missing.success).toBe(false);
    expect(missing.error?.issues.map((i) => i.path.join("."))).toContain("prompt");
    expect(schemaOf("hy-image-v3.0").safeParse({ prompt: "   " }).success).toBe(false);
  });

  it("refuses a camelCase key and suggests its snake_case spelling", () => {
    const result = schemaOf("hy-image-v3.0").safeParse({ prompt: "fox", LogoAdd: 1 });
    expect(result.success).toBe(false);
    const issue = result.error?.issues.find((i) => i.path[0] === "LogoAdd");
    expect(issue?.message).toContain("logo_add");
  });

  it("refuses `model` inside input", () => {
    const result = schemaOf("hy-image-v3.0").safeParse({ prompt: "fox", model: "hy-image-v3.0" });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toContain("model");
  });

  it("yt-video-2.0 requires an image object with a valid url (or base64)", () => {
    const schema = schemaOf("yt-video-2.0");
    expect(schema.safeParse({ image: { url: "https://example.com/a.png" } }).success).toBe(true);
    expect(schema.safeParse({ prompt: "dance" }).success).toBe(false);
    expect(schema.safeParse({ image: {} }).success).toBe(false);
    expect(schema.safeParse({ image: { url: "not a url" } }).success).toBe(false);
  });

  it("hy-video-1.5 accepts a prompt or an image, but not neither", () => {
    const schema = schemaOf("hy-video-1.5");
    expect(schema.safeParse({ prompt: "waves" }).success).toBe(true);
    expect(schema.safeParse({ image: { url: "https://example.com/a.png" } }).success).toBe(true);
    expect(schema.safeParse({}).success).toBe(false);
  });

  it("hy-image-lite refuses rsp_img_type base64 and accepts url", () => {
    const schema = schemaOf("hy-image-lite");
    expect(schema.safeParse({ prompt: "fox", rsp_img_type: "base64" }).success).toBe(false);
    expect(schema.safeParse({ prompt: "fox", rsp_img_type: "url" }).success).toBe(true);
  });

  it("passes unknown snake_case fields through unchanged", () => {
    const input = { prompt: "fox", logo_add: 1, resolution: "1024:1024", extra_opts: { seed: 7 } };
    expect(schemaOf("hy-image-v3.0").parse(input)).toEqual(input);
    expect(schemaOf("hy-3d-3.0").parse({ prompt: "chair", face_count: 4000 })).toEqual({ prompt: "chair", face_count: 4000 });
  });
});
