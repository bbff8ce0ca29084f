import { describe, it, expect } from "vitest";
import { TokenHubQueried, readTaskStatus, readTokenHubError } from "../../src/providers/tokenhub/tokenhub-responses.js";

/** Parses like the provider does, then reads the status. */
const read = (answer: unknown, family: "image" | "video" | "3d") => readTaskStatus(TokenHubQueried.parse(answer), family);

const PNG = "https://th-results.example.com/out/1.png";
const MP4 = "https://th-results.example.com/out/1.mp4";

describe("readTaskStatus", () => {
  it("reads a completed image answer (data is an array)", () => {
    const status = read(
      { id: "1429890795996585984", status: "completed", data: [{ url: PNG, revised_prompt: "a red fox, watercolor" }] },
      "image",
    );
    expect(status).toEqual({ state: "succeeded", outputs: [{ url: PNG }] });
  });

  it("reads a completed video answer (data is an object)", () => {
    const status = read({ id: "1", status: "completed", data: { url: MP4 } }, "video");
    expect(status).toEqual({ state: "succeeded", outputs: [{ url: MP4 }] });
  });

  it("expands a 3D answer into model + preview per format, in order", () => {
    const status = read(
      {
        id: "1",
        status: "completed",
        data: [
          { type: "obj", url: "https://r.example.com/m.zip", preview_image_url: "https://r.example.com/p1.png" },
          { type: "glb", url: "https://r.example.com/m.glb", preview_image_url: "https://r.example.com/p2.png" },
        ],
      },
      "3d",
    );
    expect(status).toEqual({
      state: "succeeded",
      outputs: [
        { url: "https://r.example.com/m.zip", ext: "obj", role: "model" },
        { url: "https://r.example.com/p1.png", role: "preview" },
        { url: "https://r.example.com/m.glb", ext: "glb", role: "model" },
        { url: "https://r.example.com/p2.png", role: "preview" },
      ],
    });
  });

  it("lower-cases the declared 3D format", () => {
    const status = read({ status: "completed", data: [{ type: "GLB", url: "https://r.example.com/m.glb" }] }, "3d");
    expect(status).toMatchObject({ state: "succeeded", outputs: [{ ext: "glb", role: "model" }] });
  });

  it("uses expires_at (seconds) for every output's expiresAt, over the URL's own signature", () => {
    const signed = `${PNG}?q-sign-time=1700000000;1700003600`;
    const status = read(
      {
        status: "completed",
        expires_at: 1774810944,
        data: [
          { type: "obj", url: signed, preview_image_url: PNG },
          { type: "glb", url: MP4, preview_image_url: PNG },
        ],
      },
      "3d",
    );
    if (status.state !== "succeeded") throw new Error(`expected succeeded, got ${status.state}`);
    expect(status.outputs).toHaveLength(4);
    expect(status.outputs.map((o) => o.expiresAt)).toEqual(Array(4).fill("2026-03-29T19:02:24.000Z"));
  });

  it("falls back to the URL signature when the answer has no expires_at", () => {
    const status = read({ status: "completed", data: [{ url: `${PNG}?Expires=1774810944` }] }, "image");
    expect(status).toMatchObject({ state: "succeeded", outputs: [{ expiresAt: "2026-03-29T19:02:24.000Z" }] });
  });

  it("reports queued and in_progress as pending, with progress", () => {
    expect(read({ status: "queued" }, "video")).toEqual({ state: "pending", providerStatus: "queued", progress: undefined });
    expect(read({ status: "in_progress", progress: 40 }, "video")).toEqual({
      state: "pending",
      providerStatus: "in_progress",
      progress: 40,
    });
  });

  it("reads a failure's error code and message", () => {
    expect(read({ status: "failed", error: { code: "content_policy_violation", message: "prompt refused" } }, "image")).toEqual({
      state: "failed",
      code: "content_policy_violation",
      message: "prompt refused",
    });
  });

  it("reads a failure with only fail_reason", () => {
    expect(read({ status: "failed", fail_reason: "render crashed" }, "video")).toEqual({
      state: "failed",
      code: "task_failed",
      message: "render crashed",
    });
  });

  it("reports an unknown status word as unknown", () => {
    expect(read({ status: "processing" }, "image")).toEqual({ state: "unknown", providerStatus: "processing" });
  });

  it("throws on a completed answer without outputs", () => {
    expect(() => read({ status: "completed" }, "image")).toThrow(/no outputs/);
    expect(() => read({ status: "completed", data: [] }, "3d")).toThrow(/no outputs/);
  });
});

describe("readTokenHubError", () => {
  it.each([
    ["invalid_request_error", "invalid_request"],
    ["authentication_error", "authentication"],
    ["model_not_available", "model_not_available"],
    ["rate_limit_exceeded", "rate_limited"],
    ["engine_server_error", "server"],
    ["service_unavailable", "server"],
  ] as const)("code %s → %s", (code, kind) => {
    expect(readTokenHubError(400, { error: { message: `about ${code}`, type: "error", code } })).toEqual({
      kind,
      code,
      message: `about ${code}`,
    });
  });

  it("recognises the code in `type` too", () => {
    expect(readTokenHubError(429, { error: { message: "slow down", type: "rate_limit_exceeded" } })).toMatchObject({
      kind: "rate_limited",
      message: "slow down",
    });
  });

  it("leaves kind undefined for an unknown code but keeps code and message", () => {
    expect(readTokenHubError(400, { error: { message: "odd", code: "something_new" } })).toEqual({
      kind: undefined,
      code: "something_new",
      message: "odd",
    });
  });

  it("returns {} for a body that is not the OpenAI error shape", () => {
    expect(readTokenHubError(502, "<html>Bad Gateway</html>")).toEqual({});
    expect(readTokenHubError(500, { message: "oops" })).toEqual({});
    expect(readTokenHubError(500, null)).toEqual({});
  });
});
