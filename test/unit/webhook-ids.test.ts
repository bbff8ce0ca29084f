import { describe, it, expect } from "vitest";
import { deliveryJobId, messageIdFor } from "../../src/contract/webhook-message.js";

// Complements webhook-message.test.ts: the ids of result events without a sequence.

describe("messageIdFor", () => {
  it("is deterministic and starts with msg_", () => {
    expect(messageIdFor("job-1", "generation.completed")).toBe(messageIdFor("job-1", "generation.completed"));
    expect(messageIdFor("job-1", "generation.completed")).toMatch(/^msg_[0-9a-f]{32}$/);
  });

  it("differs per event type and per job", () => {
    const ids = new Set([
      messageIdFor("job-1", "generation.completed"),
      messageIdFor("job-1", "generation.failed"),
      messageIdFor("job-1", "generation.started"),
      messageIdFor("job-2", "generation.completed"),
    ]);
    expect(ids.size).toBe(4);
  });
});

describe("deliveryJobId", () => {
  it("contains no ':' (BullMQ refuses it in custom ids), even when the job id does", () => {
    expect(deliveryJobId("tenant:job:1", "generation.completed")).not.toContain(":");
  });

  it("is deterministic and differs per event type and per job", () => {
    expect(deliveryJobId("job-1", "generation.failed")).toBe(deliveryJobId("job-1", "generation.failed"));
    expect(deliveryJobId("job-1", "generation.failed")).not.toBe(deliveryJobId("job-1", "generation.completed"));
    expect(deliveryJobId("job-1", "generation.failed")).not.toBe(deliveryJobId("job-2", "generation.failed"));
  });
});
