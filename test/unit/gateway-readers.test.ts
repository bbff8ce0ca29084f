import { describe, expect, it } from "vitest";
import { checkBaseResp, readSubmitAnswer, taskIdOf } from "../../src/providers/gateway/gateway-answers.js";
import { readGatewayTask } from "../../src/providers/gateway/gateway-tasks.js";
import { GATEWAY_MODELS, GATEWAY_PASSTHROUGH, type GatewayFamily } from "../../src/providers/gateway/gateway-models.js";
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
    const statusOf = (family: GatewayFamily, body: unknown) => readGatewayTask(family, body).status;
    expect(statusOf("wan-video", { output: { task_status: "RUNNING" } })).toMatchObject({ state: "pending", providerStatus: "RUNNING" });
    expect(statusOf("minimax-video", { status: "Preparing" })).toMatchObject({ state: "pending" });
    expect(statusOf("cogvideo", { task_status: "PROCESSING" })).toMatchObject({ state: "pending" });
    expect(statusOf("wan-video", { output: { task_status: "Succeeded", video_url: "https://x/v.mp4" } })).toMatchObject({
      state: "succeeded",
      outputs: [{ url: "https://x/v.mp4" }],
    });
    expect(statusOf("cogvideo", { task_status: "FAIL", error: { code: "1301", message: "no" } })).toEqual({
      state: "failed",
      code: "1301",
      message: "no",
    });
    expect(statusOf("wan-video", { output: { task_status: "UNKNOWN" } })).toEqual({ state: "unknown", providerStatus: "UNKNOWN" });
  });

  it("cogvideo's cover image is archived beside its video", () => {
    const { status } = readGatewayTask("cogvideo", {
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

  it("an answer no reading understands is a bad_response naming why each reading failed, carrying the answer", () => {
    const answer = { request_id: "r-1", notice: "upstream answered in a format this proxy does not pass on" };
    let thrown: unknown;
    try {
      readGatewayTask("minimax-video", answer);
    } catch (err) {
      thrown = err;
    }
    expect(isProviderError(thrown) && thrown.kind).toBe("bad_response");
    expect((thrown as Error).message).toMatch(
      /^minimax-video task answer matched no reading \(native: status: .*; documented: output: .*; generic: no status word in /,
    );
    expect((thrown as { answer?: unknown }).answer).toBe(answer);
    expect(errorOf(() => readGatewayTask("cogvideo", { status: { word: "Success" } }))?.message).toMatch(/native: task_status: /);
  });

  it("a malformed result in every reading names the field instead of passing as no output", () => {
    expect(
      errorOf(() => readGatewayTask("wan-video", { output: { task_status: "SUCCEEDED", video_url: "ftp://x/v.mp4" } }))?.message,
    ).toMatch(/documented: output\.video_url: expected an http\(s\) URL; generic: succeeded task has no result URL/);
    expect(errorOf(() => readGatewayTask("glm-image", { output: { task_status: "SUCCEEDED", results: [{ url: 7 }] } }))?.message).toMatch(
      /output\.results\.0\.url: /,
    );
    expect(
      errorOf(() => readGatewayTask("cogvideo", { task_status: "SUCCESS", video_result: { url: "https://x/v.mp4" } }))?.message,
    ).toMatch(/native: video_result: /);
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
    const { status: failed } = readGatewayTask("minimax-video", {
      task_id: "m-1",
      status: "Fail",
      fail_reason: "moderation",
      base_resp: { status_code: 0, status_msg: "success" },
    });
    expect(failed).toEqual({ state: "failed", code: "task_failed", message: "moderation" });
  });

  it("pass-through answers: a field of an unexpected type counts as absent, the other places are still read", () => {
    expect(readGatewayTask("generic", { status: { odd: true }, data: { status: "RUNNING" } })).toMatchObject({
      reader: "generic",
      status: { state: "pending", providerStatus: "RUNNING" },
    });
    expect(
      readGatewayTask("generic", { status: "SUCCESS", output: { results: "not a list" }, file: { download_url: "https://x/f.mp4" } })
        .status,
    ).toMatchObject({ state: "succeeded", outputs: [{ url: "https://x/f.mp4" }] });
    expect(taskIdOf({ task_id: { nested: 1 }, id: "t-2" })).toBe("t-2");
    expect(taskIdOf(null)).toBeUndefined();
  });

  it("a pass-through answer without a status word anywhere is a bad_response, not a task still running", () => {
    expect(errorOf(() => readGatewayTask("generic", { id: "t-3", data: { url: "https://x/f.mp4" } }))?.kind).toBe("bad_response");
  });
});

describe("every polled gateway model's query answer, in its own shape and in the documented one", () => {
  type State = "pending" | "succeeded" | "failed";
  const VIDEO = "https://x/v.mp4?sig=1";
  const COVER = "https://x/c.png";
  const IMAGES = ["https://x/1.png", "https://x/2.png"];

  /** seed 004 §7.6's structure, with wan's failure fields; images as `results[]`, anything else `video_url`. */
  const documented = (family: GatewayFamily, state: State) => ({
    output: {
      task_id: "t-1",
      task_status: { pending: "RUNNING", succeeded: "SUCCEEDED", failed: "FAILED" }[state],
      ...(state === "succeeded" ? (family === "glm-image" ? { results: IMAGES.map((url) => ({ url })) } : { video_url: VIDEO }) : {}),
      ...(state === "failed" ? { code: "DataInspectionFailed", message: "moderation" } : {}),
    },
    request_id: "r-1",
  });

  /** The family's own structure where it has one (MiniMax Hailuo, cogvideo). */
  const native: Partial<Record<GatewayFamily, (state: State) => unknown>> = {
    "minimax-video": (state) => ({
      task_id: "t-1",
      status: { pending: "Processing", succeeded: "Success", failed: "Fail" }[state],
      ...(state === "succeeded" ? { file: { download_url: VIDEO } } : {}),
      ...(state === "failed" ? { fail_reason: "moderation" } : {}),
      base_resp: { status_code: 0, status_msg: "success" },
    }),
    cogvideo: (state) => ({
      id: "t-1",
      task_status: { pending: "PROCESSING", succeeded: "SUCCESS", failed: "FAIL" }[state],
      ...(state === "succeeded" ? { video_result: [{ url: VIDEO, cover_image_url: COVER }] } : {}),
      ...(state === "failed" ? { error: { code: "1301", message: "moderation" } } : {}),
    }),
  };

  const polled = [...GATEWAY_MODELS.filter((m) => m.mode === "async" || m.endpoint === "glm-image"), GATEWAY_PASSTHROUGH("vendor-video-9")];
  const cases = polled.flatMap((model) => {
    const family = model.endpoint as GatewayFamily;
    const shapes: Array<[string, (state: State) => unknown, string]> = [["documented", (state) => documented(family, state), "documented"]];
    const own = native[family];
    if (own) shapes.unshift(["native", own, "native"]);
    // a pass-through model has no shape of its own: a MiniMax-style answer is read by the generic reading
    if (family === "generic") shapes.push(["MiniMax", native["minimax-video"]!, "generic"]);
    return shapes.flatMap(([shape, body, reader]) =>
      (["pending", "succeeded", "failed"] as const).map((state) => ({ model: model.id, family, shape, body: body(state), reader, state })),
    );
  });

  it("covers every polled model of the catalogue", () => {
    expect(new Set(cases.map((c) => c.model))).toEqual(
      new Set([
        "glm-image",
        "wan2.7-i2v",
        "wan2.7-r2v",
        "wan2.7-t2v",
        "MiniMax-Hailuo-2.3",
        "MiniMax-Hailuo-2.3-Fast",
        "cogvideox-3",
        "vendor-video-9",
      ]),
    );
  });

  it.each(cases)("$model: a $state answer in the $shape shape is read by the $reader reading", ({ family, body, reader, state }) => {
    const reading = readGatewayTask(family, body);
    expect(reading.reader).toBe(reader);
    expect(reading.status.state).toBe(state);
    if (reading.status.state === "failed") expect(reading.status.message).toBe("moderation");
    if (reading.status.state !== "succeeded") return;
    const urls = reading.status.outputs.map((o) => o.url);
    if (family === "glm-image") expect(urls).toEqual(IMAGES);
    else if (family === "cogvideo" && reader === "native") expect(urls).toEqual([VIDEO, COVER]);
    else expect(urls).toEqual([VIDEO]);
  });

  it("the first reading that finds a known status wins over one that finds an unknown word", () => {
    const body = { status: "ok", output: { task_status: "SUCCEEDED", video_url: VIDEO } };
    expect(readGatewayTask("minimax-video", body)).toMatchObject({ reader: "documented", status: { state: "succeeded" } });
    expect(readGatewayTask("minimax-video", { status: "Rendering" })).toEqual({
      reader: "native",
      status: { state: "unknown", providerStatus: "Rendering" },
    });
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
