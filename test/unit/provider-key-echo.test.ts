import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callJson } from "../../src/providers/http-json.js";
import { ProviderSimulator } from "@kiln/dev-tools";
import { readTokenHubError } from "../../src/providers/tokenhub/tokenhub-responses.js";

const KEY = "sk-proj-Wrong0123456789abcdefghijKLMN";

describe("callJson never carries the API key a provider quotes back", () => {
  const simulator = new ProviderSimulator({ apiKey: "the-right-key-0123456789", echoKey: "whole" });
  let base = "";
  beforeAll(async () => {
    base = await simulator.start();
  });
  afterAll(() => simulator.stop());

  it.each(["whole", "masked"] as const)(
    "a 401 quoting the key (%s) becomes an error whose message and stack hold no piece of it",
    async (echoKey) => {
      simulator.configure({ echoKey });
      const err = (await callJson({
        baseUrls: [base],
        path: "v1/api/image/submit",
        body: {},
        apiKey: KEY,
        readError: readTokenHubError,
      }).catch((e: unknown) => e)) as Error & {
        kind: string;
      };
      expect(err.kind).toBe("authentication");
      expect(err.message).toMatch(/^Incorrect API key provided: \[redacted\]\./);
      for (const text of [err.message, err.stack ?? ""]) {
        expect(text).not.toContain(KEY.slice(0, 8));
        expect(text).not.toContain(KEY.slice(-4));
      }
    },
  );
});
