import { describe, expect, it } from "vitest";
import {
  ARCHIVE_PREFIX_PATTERN,
  ArchivePrefix,
  MAX_ARCHIVE_PREFIX_BYTES,
  archivePrefixProblem,
} from "../../src/contract/archive-prefix.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../../src/util/json-depth.js";
import { GenerationRequest } from "../../src/contract/generation-request.js";

const GOOD = ["kiln", "team-a/renders", "a/b/c", "v1.2/x_y", "a.b/.hidden", "...", "a/...", "x".repeat(MAX_ARCHIVE_PREFIX_BYTES)];
const BAD = [
  "",
  "/",
  "/a",
  "a/",
  "a//b",
  ".",
  "..",
  "./a",
  "a/.",
  "a/./b",
  "../../x",
  "a/..",
  "a\u0000b",
  "a\nb",
  "a\u007fb",
  "a b",
  "é",
  "a\\b",
];

describe("ArchivePrefix", () => {
  it("accepts relative prefixes of letters, digits and -_. segments", () => {
    for (const prefix of GOOD) expect(archivePrefixProblem(prefix), prefix).toBeUndefined();
  });

  it("refuses empty, '.' and '..' segments, a leading '/', control characters and more than 512 bytes, saying which", () => {
    for (const prefix of BAD) expect(archivePrefixProblem(prefix), JSON.stringify(prefix)).toBeDefined();
    expect(archivePrefixProblem("/")).toMatch(/start with '\/'/);
    expect(archivePrefixProblem("a//b")).toMatch(/empty segments/);
    expect(archivePrefixProblem("a/../b")).toMatch(/'\.' or '\.\.' segments/);
    expect(archivePrefixProblem("a\u0000b")).toMatch(/control characters/);
    expect(archivePrefixProblem("x".repeat(MAX_ARCHIVE_PREFIX_BYTES + 1))).toMatch(/at most 512 bytes/);
  });

  it("says the same as its JSON Schema pattern and maxLength, which producers in other languages check", () => {
    const pattern = new RegExp(ARCHIVE_PREFIX_PATTERN, "u");
    for (const prefix of [...GOOD, ...BAD, "x".repeat(MAX_ARCHIVE_PREFIX_BYTES + 1)]) {
      const schema = pattern.test(prefix) && prefix.length <= MAX_ARCHIVE_PREFIX_BYTES;
      expect(schema, JSON.stringify(prefix)).toBe(ArchivePrefix.safeParse(prefix).success);
    }
  });
});

describe("nestsDeeperThan", () => {
  const nested = (levels: number, wrap: (v: unknown) => unknown = (v) => ({ a: v })) => {
    let value: unknown = "leaf";
    for (let i = 0; i < levels; i++) value = wrap(value);
    return value;
  };

  it("counts objects and arrays, and a value at the limit is not deeper than it", () => {
    expect(nestsDeeperThan("scalar", 0)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(
      nestsDeeperThan(
        nested(MAX_JSON_DEPTH + 1, (v) => [v]),
        MAX_JSON_DEPTH,
      ),
    ).toBe(true);
    expect(nestsDeeperThan({ wide: Array.from({ length: 10_000 }, () => ({ x: 1 })) }, 3)).toBe(false);
  });

  it("holds for values deep enough to overflow any recursive walk, and for cycles", () => {
    expect(nestsDeeperThan(nested(1_000_000), MAX_JSON_DEPTH)).toBe(true);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(nestsDeeperThan(cyclic, MAX_JSON_DEPTH)).toBe(true);
  });

  it("is what the request schema refuses in input and metadata, naming the field", () => {
    const request = { provider: "tokenhub", model: "hy-image-lite", input: { prompt: "p" } };
    const deep = GenerationRequest.safeParse({ ...request, metadata: { d: nested(1_000_000) } });
    expect(deep.success).toBe(false);
    expect(deep.error?.issues[0]).toMatchObject({ path: ["metadata"], message: "nested more than 64 levels deep" });
  });
});
