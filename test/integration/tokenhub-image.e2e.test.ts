import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { storedDigest } from "../support/archive-check.js";
import { verifiedBySvix } from "../support/webhook-receiver.js";

describe("TokenHub image models end to end", () => {
  const h = new KilnHarness();
  beforeAll(() => h.start());
  afterAll(() => h.close());

  it("HY-Image-V3.0: submit, poll, archive to S3 with the simulator's bytes, signed webhook", async () => {
    const id = await h.client.enqueue(h.request("HY-Image-V3.0"), { id: "img-v3-1" });
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.state).toBe("completed");
    const result = status.result!;
    expect(result).toMatchObject({ id, status: "completed", provider: "tokenhub", model: "hy-image-v3.0" });
    const task = h.simulator.book.tasks.get(result.providerTaskId!)!;
    expect(result.outputs).toHaveLength(1);
    const [output] = result.outputs;
    expect(output).toMatchObject({ index: 0, contentType: "image/png", bytes: task.files[0]!.bytes, sha256: task.files[0]!.sha256 });
    expect(output!.url).toBe(`s3://${h.env.S3_BUCKET}/${output!.key}`);
    expect(output!.key).toMatch(new RegExp(`^kiln/tokenhub/\\d{4}-\\d{2}-\\d{2}/${id}/0\\.png$`));
    expect(output!.sourceExpiresAt).toBeDefined();
    expect(await storedDigest(h.workers!.store, output!.key)).toEqual({ sha256: task.files[0]!.sha256, bytes: task.files[0]!.bytes });

    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    const [hook] = h.receiver.of(id);
    expect(hook!.payload.type).toBe("generation.completed");
    expect(hook!.payload.data).toEqual(result);
    expect(hook!.verified).toBe(true);
    expect(verifiedBySvix(hook!, h.secret)).toBe(true);
  });

  it("HY-Image-Lite: the synchronous answer is archived without polling", async () => {
    const before = h.simulator.stats().queries;
    const id = await h.client.enqueue(h.request("hy-image-lite"));
    const status = await h.client.waitFor(id, { timeoutMs: 20_000 });
    expect(status.state).toBe("completed");
    const submission = h.simulator.stats().submissions.find((s) => s.model === "hy-image-lite");
    const task = h.simulator.book.tasks.get(submission!.taskId)!;
    expect(status.result!.outputs[0]).toMatchObject({
      sha256: task.files[0]!.sha256,
      bytes: task.files[0]!.bytes,
      contentType: "image/png",
    });
    expect(h.simulator.stats().queries).toBe(before);
  });
});
