import { describe, expect, it } from "vitest";
import { fetchStalled, type FetchLook } from "../../src/queue/fetch-watchdog.js";

const look = (over: Partial<FetchLook>): FetchLook => ({
  now: 100_000,
  dueSince: 70_000,
  lastPickupAt: 60_000,
  busy: 0,
  concurrency: 50,
  held: false,
  ...over,
});

describe("fetchStalled", () => {
  it("is true once work has been due for the limit while nothing was picked up and there was room", () => {
    expect(fetchStalled(look({}), 20_000)).toBe(true);
    expect(fetchStalled(look({ busy: 49 }), 20_000)).toBe(true);
  });

  it("counts from the later of when work became due and the last pickup", () => {
    expect(fetchStalled(look({ dueSince: 85_000 }), 20_000)).toBe(false);
    expect(fetchStalled(look({ lastPickupAt: 90_000 }), 20_000)).toBe(false);
    expect(fetchStalled(look({ lastPickupAt: 80_000 }), 20_000)).toBe(true);
  });

  it("is false with no work due, a full worker, or a paused or rate-limited queue", () => {
    expect(fetchStalled(look({ dueSince: undefined }), 20_000)).toBe(false);
    expect(fetchStalled(look({ busy: 50 }), 20_000)).toBe(false);
    expect(fetchStalled(look({ held: true }), 20_000)).toBe(false);
  });
});
