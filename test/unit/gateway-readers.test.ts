import { describe, expect, it } from "vitest";
import { checkBaseResp, readSubmitAnswer, taskIdOf } from "../../src/providers/gateway/gateway-answers.js";
import { readGatewayTask } from "../../src/providers/gateway/gateway-tasks.js";
import { readGatewayError } from "../../src/providers/gateway/gateway-provider.js";
import { readWcodeError, unwrapAnswer } from "../../src/providers/wcode/wcode-provider.js";
import { isProviderError } from "../../src/providers/provider-error.js";

describe("gateway answer readers (seed 004)", () => {
  it("prefers the top-level task_id over output.task_id, then id", () => {
    expect(taskIdOf({ task_id: "top", output: { task_id: "inner" } })).toBe("top");
    expect(taskIdOf({ output: { task_id: "inner" } })).toBe("inner");
    expect(taskIdOf({ id: "cog", task_id: "cog-t" })).toBe("cog-t");
    expect(taskIdOf({ id: 42 })).toBe("42");
    expect(taskIdOf({ data: {} })).toBeUndefined();
  });

  it("maps each family's status words, case-insensitively; an unknown word stays unknown", () => {
    expect(readGatewayTask("wan-video", { output: { task_status: "RUNNING" } })).toMatchObject({
      state: "pending",
      providerStatus: "RUNNING",
    });
    expect(readGatewayTask("minimax-video", { status: "Preparing" })).toMatchObject({ state: "pending" });
    expect(readGatewayTask("cogvideo", { task_status: "PROCESSING" })).toMatchObject({ state: "pending" });
    expect(readGatewayTask("wan-video", { output: { task_status: "SUCCEEDED", video_url: "https://x/v.mp4" } })).toMatchObject({
      state: "succeeded",
      outputs: [{ url: "https://x/v.mp4" }],
    });
    expect(readGatewayTask("minimax-video", { status: "Success", file: { download_url: "https://x/m.mp4" } })).toMatchObject({
      state: "succeeded",
      outputs: [{ url: "https://x/m.mp4" }],
    });
    expect(
      readGatewayTask("glm-image", {
        output: { task_status: "SUCCEEDED", results: [{ url: "https://x/1.png" }, { url: "https://x/2.png" }] },
      }),
    ).toMatchObject({ state: "succeeded", outputs: [{ url: "https://x/1.png" }, { url: "https://x/2.png" }] });
    expect(readGatewayTask("wan-video", { output: { task_status: "FAILED", code: "DataInspectionFailed", message: "bad" } })).toEqual({
      state: "failed",
      code: "DataInspectionFailed",
      message: "bad",
    });
    expect(readGatewayTask("cogvideo", { task_status: "FAIL", error: { code: "1301", message: "no" } })).toEqual({
      state: "failed",
      code: "1301",
      message: "no",
    });
    expect(readGatewayTask("wan-video", { output: { task_status: "UNKNOWN" } })).toEqual({ state: "unknown", providerStatus: "UNKNOWN" });
  });

  it("cogvideo's cover image is archived beside its video", () => {
    const status = readGatewayTask("cogvideo", {
      task_status: "SUCCESS",
      video_result: [{ url: "https://x/v.mp4", cover_image_url: "https://x/c.png" }],
    });
    expect(status).toMatchObject({
      state: "succeeded",
      outputs: [
        { url: "https://x/v.mp4", role: "video" },
        { url: "https://x/c.png", role: "cover" },
      ],
    });
  });

  it("a succeeded task without any result URL is an error, not an empty success", () => {
    expect(() => readGatewayTask("wan-video", { output: { task_status: "SUCCEEDED" } })).toThrow(/no result URL/);
  });

  it("MiniMax base_resp: zero passes, rate limit retries, others refuse", () => {
    expect(() => checkBaseResp({ base_resp: { status_code: 0, status_msg: "success" } })).not.toThrow();
    const kindOf = (code: number) => {
      try {
        checkBaseResp({ base_resp: { status_code: code, status_msg: `code ${code}` } });
      } catch (err) {
        return isProviderError(err) ? err.kind : "other";
      }
      return "none";
    };
    expect([kindOf(1002), kindOf(1000), kindOf(1004), kindOf(2013)]).toEqual([
      "rate_limited",
      "server",
      "authentication",
      "invalid_request",
    ]);
  });

  it("speech-2.8-hd: hex audio decoded, format from audio_setting when extra_info has none", () => {
    const answer = readSubmitAnswer(
      "minimax-tts",
      { data: { status: 2, audio: "494433" }, base_resp: { status_code: 0 } },
      { audio_setting: { format: "flac" } },
    );
    expect(answer).toEqual({ type: "completed", outputs: [{ inline: { encoding: "hex", data: "494433" }, ext: "flac" }] });
  });

  it("image-01 base64 answers become inline bytes; an answer with neither field is an error", () => {
    expect(readSubmitAnswer("minimax-image", { data: { image_base64: ["iVBO"] } }, {})).toMatchObject({
      type: "completed",
      outputs: [{ inline: { encoding: "base64", data: "iVBO" } }],
    });
    expect(() => readSubmitAnswer("minimax-image", { data: {} }, {})).toThrow(/neither data.image_url nor data.image_base64/);
  });

  it("glm-image is synchronous unless async:true, then it is a task", () => {
    expect(readSubmitAnswer("glm-image", { data: [{ url: "https://x/g.png" }] }, {})).toMatchObject({ type: "completed" });
    expect(readSubmitAnswer("glm-image", { id: "t-1" }, { async: true })).toMatchObject({ type: "task", taskId: "t-1" });
  });

  it("reads OpenAI-style and DashScope-style error bodies", () => {
    expect(readGatewayError(401, { error: { message: "bad key", type: "authentication_error", code: null } })).toEqual({
      code: "authentication_error",
      message: "bad key",
    });
    expect(readGatewayError(400, { code: "Throttling.RateQuota", message: "slow down", request_id: "r" })).toEqual({
      kind: "rate_limited",
      code: "Throttling.RateQuota",
      message: "slow down",
    });
    expect(readGatewayError(500, "nope")).toEqual({});
  });
});

describe("gateway answers that do not match their family", () => {
  /** The ProviderError a reader throws, or undefined when it does not throw one. */
  const errorOf = (read: () => unknown) => {
    try {
      read();
    } catch (err) {
      return isProviderError(err) ? { kind: err.kind, message: err.message } : { kind: "not a ProviderError", message: String(err) };
    }
    return undefined;
  };

  it("a task answer in another family's shape is a bad_response naming the missing field", () => {
    // cogvideo's shape answered for a wan task: wan's status is under output
    expect(errorOf(() => readGatewayTask("wan-video", { task_status: "RUNNING" }))).toEqual({
      kind: "bad_response",
      message: expect.stringMatching(/^wan-video task answer did not have the documented shape: output: /),
    });
    expect(errorOf(() => readGatewayTask("cogvideo", { output: { task_status: "RUNNING" } }))?.message).toMatch(/task_status: /);
    expect(errorOf(() => readGatewayTask("minimax-video", { status: { word: "Success" } }))?.message).toMatch(
      /minimax-video task answer .*status: /,
    );
  });

  it("a malformed result in a family's answer names the field instead of passing as no output", () => {
    expect(
      errorOf(() => readGatewayTask("wan-video", { output: { task_status: "SUCCEEDED", video_url: "ftp://x/v.mp4" } }))?.message,
    ).toMatch(/output\.video_url: expected an http\(s\) URL/);
    expect(errorOf(() => readGatewayTask("glm-image", { output: { task_status: "SUCCEEDED", results: [{ url: 7 }] } }))?.message).toMatch(
      /output\.results\.0\.url: /,
    );
    expect(
      errorOf(() => readGatewayTask("cogvideo", { task_status: "SUCCESS", video_result: { url: "https://x/v.mp4" } }))?.message,
    ).toMatch(/video_result: /);
  });

  it("a submit answer that does not match its family names the field", () => {
    expect(errorOf(() => readSubmitAnswer("qwen-image", { output: { choices: [] } }, {}))).toEqual({
      kind: "bad_response",
      message: expect.stringMatching(/qwen-image answer .*output\.choices: /),
    });
    expect(errorOf(() => readSubmitAnswer("minimax-tts", { data: { audio: "not hex" } }, {}))?.message).toMatch(
      /data\.audio: expected hex-encoded audio/,
    );
    expect(errorOf(() => readSubmitAnswer("wan-video", { output: {} }, {}))?.message).toMatch(
      /wan-video answer has no task id \(task_id, output\.task_id or id\)/,
    );
  });

  it('a failed MiniMax task reports its fail_reason, not base_resp\'s "success"', () => {
    const failed = readGatewayTask("minimax-video", {
      task_id: "m-1",
      status: "Fail",
      fail_reason: "moderation",
      base_resp: { status_code: 0, status_msg: "success" },
    });
    expect(failed).toEqual({ state: "failed", code: "task_failed", message: "moderation" });
  });

  it("pass-through answers: a field of an unexpected type counts as absent, the other places are still read", () => {
    expect(readGatewayTask("generic", { status: { odd: true }, data: { status: "RUNNING" } })).toMatchObject({
      state: "pending",
      providerStatus: "RUNNING",
    });
    expect(
      readGatewayTask("generic", { status: "SUCCESS", output: { results: "not a list" }, file: { download_url: "https://x/f.mp4" } }),
    ).toMatchObject({ state: "succeeded", outputs: [{ url: "https://x/f.mp4" }] });
    expect(taskIdOf({ task_id: { nested: 1 }, id: "t-2" })).toBe("t-2");
    expect(taskIdOf(null)).toBeUndefined();
  });
});

describe("wcode readers (seeds 000–002)", () => {
  it("drops hunyuan-a13b's <answer> wrapper and leaves other answers alone", () => {
    expect(unwrapAnswer("<answer>\n你好\n</answer>")).toBe("你好");
    expect(unwrapAnswer("plain <answer>inside</answer> text")).toBe("plain <answer>inside</answer> text");
  });

  it("the seed's invalid-key body is an authentication error whatever its type says", () => {
    expect(readWcodeError(401, { error: { message: "Invalid API-KEY", type: "invalid_request_error", param: null, code: null } })).toEqual({
      kind: "authentication",
      code: "invalid_request_error",
      message: "Invalid API-KEY",
    });
  });
});
