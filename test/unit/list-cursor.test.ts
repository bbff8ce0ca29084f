import { describe, expect, it } from "vitest";
import { checkLimit, comparePositions, decodeCursor, encodeCursor } from "../../src/producers/list-cursor.js";
import { checkStates, stateMatches } from "../../src/producers/job-lister.js";

describe("list cursor", () => {
  it("round-trips a position through an opaque base64url string", () => {
    const position = { t: 1_700_000_000_000, i: "order-42.a b/ü", q: "{kiln-1}:generate-wcode" };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it("refuses what no listing returned, naming the cursor", () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const bad of [
      "",
      "a+b",
      "not json",
      b64({ t: -1, i: "a", q: "q" }),
      b64({ t: 1, i: "", q: "q" }),
      b64({ t: 1, i: "a", q: "q", x: 1 }),
    ])
      expect(() => decodeCursor(bad), bad).toThrow(/^cursor: /);
  });

  it("orders newest first, then by id, then by queue, all descending", () => {
    const sorted = [
      { t: 1, i: "a", q: "x" },
      { t: 2, i: "a", q: "x" },
      { t: 2, i: "b", q: "x" },
      { t: 2, i: "b", q: "y" },
    ].sort(comparePositions);
    expect(sorted).toEqual([
      { t: 2, i: "b", q: "y" },
      { t: 2, i: "b", q: "x" },
      { t: 2, i: "a", q: "x" },
      { t: 1, i: "a", q: "x" },
    ]);
    expect(comparePositions({ t: 3, i: "a", q: "x" }, { t: 3, i: "a", q: "x" })).toBe(0);
  });

  it("takes a limit from 1 to 100, 20 by default, and states by BullMQ's names", () => {
    expect(checkLimit(undefined)).toBe(20);
    expect(checkLimit("100")).toBe(100);
    for (const bad of [0, 101, 2.5, "0", "1e2", "ten"]) expect(() => checkLimit(bad), String(bad)).toThrow(/^limit: /);
    expect(checkStates("waiting, failed")).toEqual(["waiting", "failed"]);
    expect(() => checkStates("waiting,done")).toThrow(/^state: "done" is not one of/);
    expect(stateMatches(["waiting"], "prioritized")).toBe(true);
    expect(stateMatches(["prioritized"], "waiting")).toBe(false);
    expect(stateMatches([], "unknown")).toBe(false);
  });
});
