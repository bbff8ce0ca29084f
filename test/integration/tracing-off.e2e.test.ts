import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KilnHarness } from "../support/kiln-harness.js";
import { OtlpReceiver } from "../support/otlp-receiver.js";
import { WorkerProcess } from "../support/worker-process.js";

describe("tracing switched off", () => {
  const otlp = new OtlpReceiver();
  const h = new KilnHarness();
  let worker: WorkerProcess;

  beforeAll(async () => {
    await otlp.start();
    await h.start({ workers: false });
  });
  afterAll(async () => {
    await worker?.stop();
    await h.close();
    await otlp.stop();
  });

  it("OTEL_SDK_DISABLED=true beside an endpoint: a job runs to its webhook, no span is sent, no traceparent goes out", async () => {
    worker = await new WorkerProcess({
      ...h.rawEnv,
      OTEL_SDK_DISABLED: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
    }).start();
    const id = await h.client.enqueue(h.request("hy-image-v3.0"));
    await h.receiver.waitFor(() => h.receiver.of(id).length === 1);
    expect(h.receiver.of(id)[0]!.payload.type).toBe("generation.completed");
    expect(h.receiver.of(id)[0]!.headers.traceparent).toBeUndefined();
    // a graceful stop flushes whatever a tracing worker still holds: nothing arrives even then
    await worker.stop();
    expect(otlp.requests).toEqual([]);
  });
});
