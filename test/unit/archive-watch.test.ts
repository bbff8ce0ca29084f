import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";
import { ArchiveWatch, type WatchedJob } from "../../src/server/archive-watch.js";

const log = createLogger({ level: "silent" });

/** A watched job whose `ended` answers from `state` when asked. */
function job(key: string, state: { ended: boolean | "unreadable" }): WatchedJob {
  return {
    key,
    ended: () => (state.ended === "unreadable" ? Promise.reject(new Error("redis down")) : Promise.resolve(state.ended)),
  };
}

describe("ArchiveWatch", () => {
  it("reports the oldest archiving job per provider, and drops jobs that ended when it asks", async () => {
    const watch = new ArchiveWatch(log, 1000);
    const a = { ended: false as boolean | "unreadable" };
    watch.archiving("tokenhub", job("a", a), 10_000);
    watch.archiving("tokenhub", job("b", { ended: false }), 40_000);
    watch.archiving("gateway", job("c", { ended: false }), 55_000);
    expect(await watch.oldestSeconds(60_000)).toEqual(
      new Map([
        ["tokenhub", 50],
        ["gateway", 5],
      ]),
    );
    a.ended = true;
    expect((await watch.oldestSeconds(60_000)).get("tokenhub")).toBe(20);
  });

  it("keeps a job whose state cannot be read (a Redis outage must not hide a stuck archive)", async () => {
    const watch = new ArchiveWatch(log, 1000);
    watch.archiving("tokenhub", job("a", { ended: "unreadable" }), 0);
    expect((await watch.oldestSeconds(30_000)).get("tokenhub")).toBe(30);
  });

  it("at its limit, lets an older job take the youngest one's place and turns a younger one away", async () => {
    const watch = new ArchiveWatch(log, 1000, 2);
    watch.archiving("tokenhub", job("a", { ended: false }), 100_000);
    watch.archiving("tokenhub", job("b", { ended: false }), 200_000);
    watch.archiving("gateway", job("c", { ended: false }), 50_000);
    watch.archiving("wcode", job("d", { ended: false }), 300_000);
    expect(await watch.oldestSeconds(400_000)).toEqual(
      new Map([
        ["tokenhub", 300],
        ["gateway", 350],
      ]),
    );
  });
});
