import { describe, expect, it } from "vitest";
import { SpareRate } from "../../src/inflight/spare-rate.js";

describe("SpareRate", () => {
  it("knows nothing before a poll read the window, then starts from the first reading", () => {
    const spare = new SpareRate();
    expect(spare.share()).toBeUndefined();
    spare.observe(0.8);
    expect(spare.share()).toBe(0.8);
  });

  it("follows the recent polls: a run of full windows brings a high reading down, one poll moves it little", () => {
    const spare = new SpareRate();
    spare.observe(1);
    spare.observe(0);
    expect(spare.share()).toBeGreaterThan(0.9);
    for (let i = 0; i < 40; i++) spare.observe(0);
    expect(spare.share()).toBeLessThan(0.1);
  });

  it("keeps readings within 0–1", () => {
    const spare = new SpareRate();
    spare.observe(3);
    expect(spare.share()).toBe(1);
    for (let i = 0; i < 200; i++) spare.observe(-1);
    expect(spare.share()).toBeGreaterThanOrEqual(0);
  });
});
