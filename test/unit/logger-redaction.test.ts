import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.js";

/** A destination the test can read back. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _enc, done) => (chunks.push(chunk.toString()), done()) });
  return { stream, text: () => chunks.join("") };
}

describe("createLogger redaction", () => {
  it("blanks credentials wherever kiln's objects carry them", () => {
    const out = capture();
    const log = createLogger({ level: "debug", destination: out.stream });
    log.debug(
      {
        apiKey: "SECRET-1",
        env: {
          TOKENHUB_API_KEY: "SECRET-2",
          KILN_WEBHOOK_SECRET: "SECRET-3",
          S3_SECRET_ACCESS_KEY: "SECRET-4",
          GATEWAY_API_KEY: "SECRET-5",
          WCODE_API_KEY: "SECRET-6",
        },
        request: { headers: { authorization: "Bearer SECRET-7", "x-api-key": "SECRET-8" } },
        job: { data: { webhook: { url: "https://example.com/h", secret: "SECRET-9" } } },
        delivery: { secret: "SECRET-10" },
        s3: { credentials: { secretAccessKey: "SECRET-11" } },
        err: { cause: { config: { headers: { Authorization: "Bearer SECRET-12" } } } },
      },
      "everything at once",
    );
    const text = out.text();
    expect(text).toContain("everything at once");
    expect(text).toContain("https://example.com/h");
    expect(text.match(/SECRET-\d+/g)).toBeNull();
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(12);
  });

  it("writes to the injected destination at the given level", () => {
    const out = capture();
    const log = createLogger({ level: "warn", destination: out.stream, name: "probe" });
    log.info("quiet");
    log.warn("loud");
    const lines = out
      .text()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; name: string });
    expect(lines).toEqual([expect.objectContaining({ msg: "loud", name: "probe" })]);
  });
});
