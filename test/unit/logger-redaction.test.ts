import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, redactSecrets } from "../../src/logger.js";
import { SecretScrubber } from "../../src/util/secret-scrubber.js";
import { ProviderError } from "../../src/providers/provider-error.js";

/** A destination the test can read back. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _enc, done) => (chunks.push(chunk.toString()), done()) });
  return { stream, text: () => chunks.join("") };
}

describe("createLogger redaction", () => {
  it("replaces the configured secrets wherever they appear in a line: message, error, child bindings, any field", () => {
    const key = "sk-live-0123456789abcdefghij";
    const out = capture();
    const log = createLogger({ level: "debug", destination: out.stream, secrets: new SecretScrubber([key]) }).child({
      note: `bound ${key}`,
    });
    const err = new ProviderError("authentication", `Incorrect API key provided: ${key}`, { status: 401 });
    log.warn({ err, answer: { body: `{"error":"bad key ${key.slice(0, 12)}"}` } }, `transient provider error: ${err.message}`);
    const text = out.text();
    expect(text).not.toContain(key.slice(0, 8));
    expect(text).toContain("Incorrect API key provided: [redacted]");
    const record = JSON.parse(text) as { err: { message: string; stack: string }; note: string };
    expect(record.err.message).toBe("Incorrect API key provided: [redacted]");
    expect(record.note).toBe("bound [redacted]");
  });

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
        delivery: { secret: "SECRET-10", secrets: ["SECRET-13", "SECRET-14"] },
        rotation: { KILN_WEBHOOK_SECRETS: ["SECRET-15"], KILN_WEBHOOK_SIGNING_KEYS: ["SECRET-16"] },
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

  it("blanks them at any depth, in arrays and in an error's own fields, and leaves the caller's objects alone", () => {
    const out = capture();
    const log = createLogger({ level: "info", destination: out.stream });
    const deep = { a: { b: { c: { d: { e: { f: { apiKey: "SECRET-1", kept: "visible-1" } } } } } } };
    const err = Object.assign(new Error("upload failed"), { request: { headers: { authorization: "Bearer SECRET-2" } }, status: 403 });
    const list = [{ webhook: { secret: "SECRET-3" } }, "visible-2"];
    log.info({ deep, err, list }, "nested");
    const line = JSON.parse(out.text()) as { err: { message: string; status: number; stack: string; type: string } };
    expect(out.text().match(/SECRET-\d+/g)).toBeNull();
    expect(out.text()).toContain("visible-1");
    expect(out.text()).toContain("visible-2");
    expect(line.err).toMatchObject({ message: "upload failed", status: 403, type: "Error" });
    expect(line.err.stack).toContain("upload failed");
    // the logged objects themselves are not changed
    expect(deep.a.b.c.d.e.f.apiKey).toBe("SECRET-1");
    expect(err.request.headers.authorization).toBe("Bearer SECRET-2");
  });

  it("does not walk into class instances (sockets, streams, responses): only plain records and errors", () => {
    class Connection {
      readonly socket = { peers: Array.from({ length: 3 }, () => ({ apiKey: "not a log field" })) };
    }
    const connection = new Connection();
    const record = { connection };
    expect(redactSecrets(record)).toBe(record);
    expect(redactSecrets({ nested: { apiKey: "SECRET" }, connection })).toEqual({ nested: { apiKey: "[redacted]" }, connection });
  });

  it("blanks an output's presigned href (a bearer URL) and keeps the rest of the output", () => {
    const output = {
      key: "kiln/job/0.png",
      href: "https://kiln-archive.s3.amazonaws.com/kiln/job/0.png?X-Amz-Signature=ab12",
      expiresAt: "2026-12-06T20:00:00.000Z",
    };
    expect(redactSecrets({ result: { outputs: [output] } })).toEqual({ result: { outputs: [{ ...output, href: "[redacted]" }] } });
  });

  it("returns a record without credentials as it is (no copy on the usual log line)", () => {
    const record = { jobId: "j1", keys: ["a/b.png"], took: { ms: 12 } };
    expect(redactSecrets(record)).toBe(record);
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
