import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { expectArchivedAsServed } from "../support/archive-check.js";

describe("TokenHub video and 3D models end to end", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start());
  afterAll(() => h.close());

  it.each(["hy-video-1.5", "yt-video-fx"])("%s: video with progress is archived as mp4", async (model) => {
    const id = await h.client.enqueue(
      h.request(model, model.startsWith("yt") ? { template: "hug", images: [{ url: "https://example.com/a.jpeg" }] } : {}),
    );
    const { result } = await expectArchivedAsServed(h, id);
    expect(result.outputs).toHaveLength(1);
    expect(result.outputs[0]).toMatchObject({ contentType: "video/mp4" });
    expect(result.outputs[0]!.key).toMatch(/\/0\.mp4$/);
  });

  it("YT-Video-2.0 takes an image and no prompt", async () => {
    const id = await h.client.enqueue({
      provider: "tokenhub",
      model: "YT-Video-2.0",
      input: { image: { url: "https://example.com/still.jpeg" } },
    });
    await expectArchivedAsServed(h, id);
  });

  it("YT-Video-FX takes the video-effects API's template and images, as a new user sends them", async () => {
    const id = await h.client.enqueue({
      provider: "tokenhub",
      model: "YT-Video-FX",
      input: { template: "hug", images: [{ url: "https://example.com/two-people.jpeg" }] },
    });
    const { result } = await expectArchivedAsServed(h, id);
    expect(result.outputs.map((o) => o.contentType)).toEqual(["video/mp4"]);
  });

  it("YT-Video-FX refuses YT-Video-2.0's body, naming the missing fields", async () => {
    await expect(
      h.client.enqueue({ provider: "tokenhub", model: "YT-Video-FX", input: { image: { url: "https://example.com/a.jpeg" } } }),
    ).rejects.toThrow(/invalid input for yt-video-fx: input\.template: required; input\.images: required/);
  });

  it("YT-Video-HumanActor takes a prompt, an audio_url and an image", async () => {
    const id = await h.client.enqueue(
      h.request("YT-Video-HumanActor", { audio_url: "https://example.com/voice.mp3", image_url: "https://example.com/face.jpeg" }),
    );
    await expectArchivedAsServed(h, id);
  });

  it.each(["hy-3d-3.0", "hy-3d-3.1", "hy-3d-express"])("%s: every model file and preview image is archived", async (model) => {
    const id = await h.client.enqueue(h.request(model));
    const { result } = await expectArchivedAsServed(h, id);
    expect(result.outputs.map((o) => [o.role, o.contentType, o.key.split("/").pop()])).toEqual([
      ["model", "model/obj", "0.obj"],
      ["preview", "image/png", "1.png"],
      ["model", "model/gltf-binary", "2.glb"],
      ["preview", "image/png", "3.png"],
    ]);
  });

  it("video progress reported by the provider reaches the job while it runs", async () => {
    h.simulator.configure({ durationsMs: { image: 300, video: 3000, "3d": 600 } });
    try {
      const id = await h.client.enqueue(h.request("hy-video-1.5"));
      const seen = new Set<number>();
      for (;;) {
        const status = await h.client.get(id);
        const progress = (status?.progress as { progress?: number } | undefined)?.progress;
        if (typeof progress === "number") seen.add(progress);
        if (status?.state === "completed") break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect([...seen].some((p) => p > 0 && p < 100)).toBe(true);
    } finally {
      h.simulator.configure({ durationsMs: { image: 300, video: 600, "3d": 600 } });
    }
  });
});
