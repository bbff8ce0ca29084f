import { describe, it, expect } from "vitest";
import { archiveKey } from "../../src/visit/steps/archive-step.js";

const enqueuedAt = Date.UTC(2026, 2, 29, 23, 30); // 23:30 UTC: local time zones must not move the date
const ctx = (jobId: string, prefix?: string) => ({
  jobId,
  enqueuedAt,
  request: { provider: "tokenhub", model: "hy-image-v3.0", input: {}, ...(prefix === undefined ? {} : { archive: { prefix } }) },
});

describe("archiveKey", () => {
  it("is <kiln>/<provider>/<utc date>/<jobId>/<index>.<ext> by default", () => {
    expect(archiveKey(ctx("job-123"), 0, "png")).toBe("kiln/tokenhub/2026-03-29/job-123/0.png");
    expect(archiveKey(ctx("job-123"), 3, "glb")).toBe("kiln/tokenhub/2026-03-29/job-123/3.glb");
  });

  it("uses a custom prefix with leading and trailing slashes trimmed", () => {
    expect(archiveKey(ctx("job-123", "/team/renders//"), 1, "mp4")).toBe("team/renders/tokenhub/2026-03-29/job-123/1.mp4");
  });

  it("makes an unsafe job id path-safe", () => {
    const key = archiveKey(ctx("a/b c"), 0, "png");
    const segments = key.split("/");
    expect(segments).toHaveLength(5);
    expect(segments[3]).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(segments[3]).not.toBe("a/b c");
  });

  it("keeps ids that clean to the same text apart", () => {
    const a = archiveKey(ctx("a/b"), 0, "png");
    const b = archiveKey(ctx("a?b"), 0, "png");
    expect(a).not.toBe(b);
    expect(a.split("/")).toHaveLength(5);
    expect(b.split("/")).toHaveLength(5);
  });

  it("never lets a job id climb out of its folder or hide as a dotfile", () => {
    expect(archiveKey(ctx(".."), 0, "png").split("/")).not.toContain("..");
    expect(archiveKey(ctx(".hidden"), 0, "png").split("/")[3]).not.toMatch(/^\./);
  });
});
