import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configVariableNames, VARIABLE_PATTERNS } from "../../src/config/index.js";

const docs = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");

describe("configVariableNames", () => {
  it("lists the variables of every area, the tracing ones included, each once", () => {
    const names = configVariableNames();
    for (const name of [
      "REDIS_URL",
      "KILN_CONCURRENCY",
      "S3_BUCKET",
      "TOKENHUB_API_KEY",
      "KILN_PRICES",
      "LOG_LEVEL",
      "OTEL_EXPORTER_OTLP_ENDPOINT",
    ])
      expect(names).toContain(name);
    expect(new Set(names).size).toBe(names.length);
  });

  it("every variable kiln reads, and the per-model pattern, is in docs/configuration.md", () => {
    // the docs shorten families (`KILN_MAX_OUTPUT_BYTES_IMAGE`, `_VIDEO`) and providers (`KILN_<PROVIDER>_RATE`)
    const family = (name: string) => /^(.+_)(IMAGE|VIDEO|3D|AUDIO|TEXT)$/.exec(name);
    const documented = (name: string) => {
      const [, prefix, kind] = family(name) ?? [];
      return (
        docs.includes(`\`${name}\``) ||
        (prefix !== undefined && docs.includes(`\`${prefix}IMAGE\``) && docs.includes(`\`_${kind}\``)) ||
        docs.includes(`\`${name.replace(/^KILN_(TOKENHUB|GATEWAY|WCODE)_/, "KILN_<PROVIDER>_")}\``)
      );
    };
    expect(configVariableNames().filter((name) => !documented(name))).toEqual([]);
    for (const pattern of VARIABLE_PATTERNS) expect(docs).toContain(`\`${pattern}\``);
  });
});
