import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookPayload } from "../../src/contract/webhook-message.js";
import { KilnHarness } from "../support/kiln-harness.js";
import { verifiedBySvix } from "../support/webhook-receiver.js";

describe("started/progress events of a real generation", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start());
  afterAll(() => h.close());

  it("a request that does not list them gets only the result event", async () => {
    const id = await h.client.enqueue(h.request("hy-video-1.5"));
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
    await h.receiver.waitFor(() => h.receiver.of(id).length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.receiver.of(id).map((r) => r.payload.type)).toEqual(["generation.completed"]);
  });

  it("a request that lists them gets started once, then progress, then completed, each signed", async () => {
    const events = ["generation.started", "generation.progress", "generation.completed"];
    const id = await h.client.enqueue(h.request("hy-video-1.5", {}, { webhook: { url: h.receiver.url, events } }));
    expect((await h.client.waitFor(id, { timeoutMs: 20_000 })).state).toBe("completed");
    await h.receiver.waitFor(() => h.receiver.of(id).some((r) => r.payload.type === "generation.completed"));
    await new Promise((r) => setTimeout(r, 300));
    const hooks = h.receiver.of(id).sort((a, b) => a.payload.timestamp.localeCompare(b.payload.timestamp));
    const types = hooks.map((r) => r.payload.type);
    expect(types.filter((t) => t === "generation.started")).toHaveLength(1);
    expect(types.filter((t) => t === "generation.progress").length).toBeGreaterThanOrEqual(1);
    expect(types[0]).toBe("generation.started");
    expect(types.at(-1)).toBe("generation.completed");
    expect(new Set(hooks.map((r) => r.headers["webhook-id"])).size).toBe(hooks.length);
    for (const hook of hooks) {
      expect(hook.verified).toBe(true);
      expect(verifiedBySvix(hook, h.secret)).toBe(true);
      const payload = WebhookPayload.parse(JSON.parse(hook.body));
      if (payload.type === "generation.started" || payload.type === "generation.progress")
        expect(payload.data).toMatchObject({ id, status: "running", provider: "tokenhub", model: "hy-video-1.5" });
    }
  });
});
