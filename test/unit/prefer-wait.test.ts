import { describe, expect, it } from "vitest";
import { MAX_WAIT_SECONDS, preferredWait } from "../../src/server/prefer-wait.js";

describe("preferredWait (Prefer: wait=N, RFC 7240)", () => {
  it("reads wait=N, case-insensitively, quoted or not, among other preferences and parameters", () => {
    expect(preferredWait("wait=5")).toEqual({ seconds: 5, applied: "wait=5" });
    expect(preferredWait("respond-async, WAIT=7")).toEqual({ seconds: 7, applied: "wait=7" });
    expect(preferredWait('wait="9"; foo=bar')).toEqual({ seconds: 9, applied: "wait=9" });
    expect(preferredWait(["handling=lenient", "wait=3"])).toEqual({ seconds: 3, applied: "wait=3" });
  });

  it("clamps a longer wait to 60 s and says so in the applied value", () => {
    expect(MAX_WAIT_SECONDS).toBe(60);
    expect(preferredWait("wait=61")).toEqual({ seconds: 60, applied: "wait=60" });
    expect(preferredWait("wait=99999999999999999999")).toEqual({ seconds: 60, applied: "wait=60" });
  });

  it("ignores what it does not understand: no header, no wait, a malformed or zero wait", () => {
    for (const header of [undefined, "", "respond-async", "wait", "wait=", "wait=0", "wait=-1", "wait=1.5", "wait=soon"])
      expect(preferredWait(header), String(header)).toBeUndefined();
  });
});
