import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayProvider } from "../../src/providers/gateway/gateway-provider.js";
import { resolveModel } from "../../src/providers/model-registry.js";
import { ProviderSimulator } from "@kiln/dev-tools";
import { KilnHarness } from "../support/kiln-harness.js";
import { storedDigest } from "../support/archive-check.js";

const IMG = "https://example.com/input.png";
const MAX_BAD_ANSWERS = 3;
/** Models whose task queries the simulator answers with JSON that holds no status. */
const UNREADABLE = { "wan2.7-t2v": "unreadable", "hy-video-1.5": "unreadable" } as const;

describe("task query answers in every shape the documents allow", () => {
  const h = new KilnHarness();
  beforeAll(() =>
    h.start({
      simulator: { queryAnswers: UNREADABLE },
      env: { KILN_MAX_BAD_ANSWERS: String(MAX_BAD_ANSWERS) },
    }),
  );
  afterAll(() => h.close());

  const POLLED: Array<[string, Record<string, unknown>]> = [
    ["MiniMax-Hailuo-2.3", { images: [IMG], duration: 6 }],
    ["MiniMax-Hailuo-2.3-Fast", { images: [IMG] }],
    ["cogvideox-3", { images: [IMG], fps: 24 }],
    ["wan2.7-i2v", { images: [IMG] }],
    ["wan2.7-r2v", { videos: ["https://example.com/motion.mp4"] }],
    ["wan2.7-t2v", { duration: 5 }],
    ["glm-image", { async: true }],
  ];
  const cases = POLLED.flatMap(([model, input]) => (["native", "documented"] as const).map((style) => ({ model, input, style })));

  it.each(cases)(
    "$model answering its task query in the $style shape completes with its outputs archived",
    async ({ model, input, style }) => {
      h.simulator.configure({ queryAnswers: { ...UNREADABLE, [model]: style } });
      const id = await h.client.enqueue(h.chatRequest("gateway", model, input));
      const status = await h.client.waitFor(id, { timeoutMs: 30_000 });
      expect(status.state, status.failedReason).toBe("completed");
      const files = h.simulator.book.tasks.get(status.result!.providerTaskId!)!.files;
      // the documented shape has one video_url: cogvideo's cover image is only in its own shape
      const served = model === "cogvideox-3" && style === "documented" ? files.slice(0, 1) : files;
      expect(status.result!.outputs.map((o) => o.sha256)).toEqual(served.map((f) => f.sha256));
      for (const output of status.result!.outputs)
        expect(await storedDigest(h.workers!.store, output.key)).toEqual({ sha256: output.sha256, bytes: output.bytes });
    },
  );

  it.each([
    ["gateway", "wan2.7-t2v", () => h.chatRequest("gateway", "wan2.7-t2v", { duration: 5 })],
    ["tokenhub", "hy-video-1.5", () => h.request("hy-video-1.5")],
  ] as const)(
    "%s %s answering its status unreadably fails bad_response after KILN_MAX_BAD_ANSWERS polls, not delayed until the deadline",
    async (provider, _model, request) => {
      h.simulator.configure({ queryAnswers: UNREADABLE });
      const queries = h.simulator.stats().queries;
      const id = await h.client.enqueue(request());
      const status = await h.client.waitFor(id, { timeoutMs: 30_000, provider });
      expect(status.state).toBe("failed");
      expect(status.result?.error).toMatchObject({
        code: "bad_response",
        retryable: false,
        message: expect.stringMatching(new RegExp(`^${MAX_BAD_ANSWERS} status answers in a row could not be read; the last: `)),
      });
      expect(h.simulator.stats().queries - queries).toBe(MAX_BAD_ANSWERS);
      // the caller hears of it, as of any failure
      await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
      expect(h.receiver.of(id)[0]!.payload).toMatchObject({ type: "generation.failed", data: { error: { code: "bad_response" } } });
    },
  );
});

describe("the gateway provider logs which reading understood a task answer", () => {
  it("native for MiniMax's own shape, documented for the shape seed 004 shows, at debug", async () => {
    const simulator = new ProviderSimulator({ durationsMs: { image: 0, video: 0, "3d": 0 } });
    const url = await simulator.start();
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "debug" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const gateway = new GatewayProvider({ apiKey: "k", baseUrls: [`${url}/gateway`], submitPath: "/v1/chat/completions", log });
    try {
      const readerOf = async (model: string, style: "native" | "documented") => {
        simulator.configure({ queryAnswers: { [model]: style } });
        const spec = resolveModel("gateway", model)!;
        const submitted = await gateway.submit(spec, { messages: [{ role: "user", content: "a lighthouse" }] });
        if (submitted.type !== "task") throw new Error(`${model} answered without a task`);
        expect(await gateway.poll(spec, submitted.taskId)).toMatchObject({ state: "succeeded" });
        return lines.filter((l) => l.msg === "task answer read" && l.taskId === submitted.taskId).map((l) => [l.level, l.reader]);
      };
      expect(await readerOf("MiniMax-Hailuo-2.3", "native")).toEqual([[20, "native"]]);
      expect(await readerOf("MiniMax-Hailuo-2.3", "documented")).toEqual([[20, "documented"]]);
      expect(await readerOf("cogvideox-3", "documented")).toEqual([[20, "documented"]]);
    } finally {
      await simulator.stop();
    }
  });
});
