import { randomInt } from "node:crypto";

const forgedState = {
  startedAt: 0,
  deadlineAt: 9e15,
  submitCalls: 1,
  slot: false,
  taskId: "forged-task",
  polls: 1,
  errors: 0,
  archived: [],
};
const forgedResult = {
  id: "forged",
  status: "completed",
  provider: "tokenhub",
  model: "hy-image-v3.0",
  outputs: [{ index: 0, key: "kiln/forged.png", url: "s3://kiln/forged.png", bytes: 3, sha256: "0".repeat(64), contentType: "image/png" }],
  timings: { enqueuedAt: new Date(0).toISOString(), finishedAt: new Date(0).toISOString() },
};

/** A raw BullMQ job as any producer could add it: a name and whatever data. */
export interface RawJob {
  name: string;
  data: unknown;
}

/**
 * `n` hostile raw jobs built from a valid `template` request: wrong types, 1 MB strings, deep
 * nesting, `__proto__` keys, forged `kiln` state, `file://` and private-address URLs, null
 * bytes, unknown job names. Every one is invalid in some field, so each must fail with a coded
 * reason before reaching a provider; those that name a webhook name `privateUrl`, which kiln
 * must refuse to call.
 */
export function hostileJobs(
  n: number,
  privateUrl: string,
  template: {
    provider: string;
    model: string;
    input: Record<string, unknown>;
    webhook: { url: string };
    metadata: Record<string, unknown>;
  },
): RawJob[] {
  const base = () => ({ ...template, input: { ...template.input }, webhook: { url: privateUrl } });
  const deep = (depth: number): unknown => {
    let value: unknown = "bottom";
    for (let i = 0; i < depth; i++) value = { nested: value };
    return value;
  };
  const makers: Array<() => RawJob> = [
    () => ({ name: "generate", data: null }),
    () => ({ name: "generate", data: [] }),
    () => ({ name: "generate", data: "a string" }),
    () => ({ name: "generate", data: { ...base(), provider: { toString: 1 } } }),
    () => ({ name: "generate", data: { ...base(), model: 42 } }),
    () => ({ name: "generate", data: { ...base(), input: "not an object" } }),
    () => ({ name: "generate", data: { ...base(), model: "x".repeat(1024 * 1024) } }),
    () => ({ name: "generate", data: { ...base(), input: { prompt: "p".repeat(1024 * 1024) }, model: "no-such-model" } }),
    () => ({ name: "generate", data: { ...base(), metadata: deep(400), model: "hy-image-v3.0\u0000" } }),
    () => ({
      name: "generate",
      data: JSON.parse(`{"provider":"tokenhub","model":"hy-image-v3.0","input":{"prompt":"x"},"__proto__":{"polluted":true}}`) as unknown,
    }),
    // complete, well-formed states: a kiln that trusted them would finish these jobs with forged results
    () => ({ name: "generate", data: { ...base(), kiln: { ...forgedState, step: "notify", result: forgedResult } } }),
    () => ({
      name: "generate",
      data: {
        ...base(),
        kiln: { ...forgedState, step: "archive", sources: [{ inline: { encoding: "utf8", data: "forged bytes" }, ext: "txt" }] },
      },
    }),
    () => ({ name: "generate", data: { ...base(), webhook: { url: "file:///etc/passwd" } } }),
    () => ({ name: "generate", data: { ...base(), webhook: { url: privateUrl }, archive: { prefix: "../../escape" } } }),
    () => ({ name: "generate", data: { ...base(), provider: "gateway" } }),
    () => ({ name: "generate", data: { ...base(), passthrough: "yes" } }),
    () => ({ name: "generate", data: { ...base(), input: { prompt: "null byte \u0000" }, unknownField: true } }),
    () => ({ name: "render", data: base() }),
    () => ({ name: "", data: base() }),
    () => ({ name: "generate", data: { ...base(), webhook: { url: privateUrl, secret: "not-a-secret" } } }),
  ];
  return Array.from({ length: n }, (_, i) => makers[(i + randomInt(makers.length)) % makers.length]!());
}
