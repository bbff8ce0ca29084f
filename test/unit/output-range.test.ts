import { describe, expect, it } from "vitest";
import { rangeOf } from "../../src/server/output-routes.js";

describe("rangeOf (Range: bytes= of one archived output)", () => {
  it("reads a-b, a- and -n within the size, clipping an end past it", () => {
    expect(rangeOf("bytes=0-9", 100)).toEqual({ start: 0, end: 9 });
    expect(rangeOf("bytes=90-", 100)).toEqual({ start: 90, end: 99 });
    expect(rangeOf("bytes=-10", 100)).toEqual({ start: 90, end: 99 });
    expect(rangeOf("bytes=-500", 100)).toEqual({ start: 0, end: 99 });
    expect(rangeOf("bytes=50-5000", 100)).toEqual({ start: 50, end: 99 });
  });

  it("a range starting past the end, or an empty suffix, cannot be satisfied", () => {
    expect(rangeOf("bytes=100-", 100)).toBe("unsatisfiable");
    expect(rangeOf("bytes=-0", 100)).toBe("unsatisfiable");
  });

  it("no header, another unit, several ranges, a reversed or malformed one: the whole output instead", () => {
    for (const header of [undefined, "items=0-1", "bytes=0-1,5-6", "bytes=9-2", "bytes=-", "bytes=a-b"])
      expect(rangeOf(header, 100)).toBeUndefined();
  });
});
