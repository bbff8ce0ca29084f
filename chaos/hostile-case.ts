import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { API_KEY, type ChaosWorld } from "./chaos-world.js";
import type { CaseResult, CaseSizes } from "./cases.js";

/** One hostile request and the failure it must end in (a code, and text its message must hold). */
interface Expectation {
  label: string;
  id: string;
  provider: string;
  /** `completed`, or the error code the job must fail with. */
  outcome: string;
  /** Text the failure's message must contain (the field it names, the limit it hit). */
  message?: RegExp;
}

/** Prefixes a producer in another language can write with raw BullMQ; the worker's intake refuses each. */
const HOSTILE_PREFIXES = ["/", "..", "a/../../b", "a//b", "./a", "a\u0000b", "bell\u0007", "p".repeat(600)];

/** Downloads a hostile CDN sends, and the code each must end in, quickly and alone. */
const HOSTILE_DOWNLOADS: Array<[mode: string, outcome: string, message: RegExp]> = [
  ["endless", "archive_failed", /KILN_MAX_OUTPUT_BYTES_IMAGE/],
  ["huge", "archive_failed", /KILN_MAX_OUTPUT_BYTES_IMAGE/],
  ["trickle", "archive_failed", /KILN_DOWNLOAD_TIMEOUT_IMAGE|time/i],
  ["html", "bad_response", /text\/html/],
  ["redirect-loop", "bad_response", /redirect/],
];

/**
 * Hostile: requests and provider answers built to crash, stall or leak, between ordinary jobs,
 * against two `kiln worker` processes on the local archive store: hostile archive prefixes
 * through raw BullMQ, a store error before the first byte (a file where the job's folder goes),
 * endless, trickling, oversized, mislabelled and looping downloads, status answers in the
 * documented shape and in no shape at all, and a provider that echoes the key it was sent. Every
 * hostile job must end alone with its coded reason, every ordinary one complete with its bytes
 * intact, both workers stay up, and kiln's credentials appear in no result, webhook or log line.
 */
export async function hostileCase(world: ChaosWorld, { full }: CaseSizes): Promise<CaseResult> {
  const dir = await mkdtemp(join(tmpdir(), "kiln-chaos-hostile-"));
  // wcode is configured with a key the provider refuses: its 401 quotes the key back
  const wrongKey = `sk-wcode-${randomBytes(12).toString("hex")}`;
  // a file where a job's archive folder would go: mkdir fails before a byte is read
  await writeFile(join(dir, "blocked"), "not a directory");
  const scene = await world.scene("hostile", {
    archiveDir: dir,
    simulator: {
      durationsMs: { image: 300, video: 600, "3d": 600 },
      // larger than the stream buffers between download and store: a store that fails first leaves the download unread
      outputBytes: { image: 300_000, video: 600_000, model: 30_000, preview: 6_000 },
      queryAnswers: { "hy-video-1.5": "unreadable", "MiniMax-Hailuo-2.3": "documented", "cogvideox-3": "documented" },
      // 401s and task failures quote the key they were sent, as some providers' do
      echoKey: "whole",
    },
    env: {
      KILN_MAX_OUTPUT_BYTES_IMAGE: "4MiB",
      KILN_DOWNLOAD_TIMEOUT_IMAGE: "3s",
      KILN_ARCHIVE_DEADLINE: "3s",
      KILN_DEADLINE_IMAGE: "8s",
      KILN_MAX_BAD_ANSWERS: "3",
      WCODE_API_KEY: wrongKey,
    },
  });
  const problems: string[] = [];
  const raw = new Queue("generate-tokenhub", { connection: { url: world.redis.url }, prefix: scene.prefix });
  try {
    const workers = [await scene.startWorker(), await scene.startWorker()];
    const expected: Expectation[] = [];
    const good = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = await scene.client.enqueue(scene.request(i % 2 ? "hy-image-v3.0" : "hy-image-lite", `hostile-good-${i}`));
        expected.push({ label: "ordinary", id, provider: "tokenhub", outcome: "completed" });
      }
    };
    const repeat = full ? 5 : 1;
    for (let round = 0; round < repeat; round++) {
      await good(5);
      for (const prefix of HOSTILE_PREFIXES) {
        const data = { ...scene.request("hy-image-v3.0", "hostile-prefix"), archive: { prefix } };
        const job = await raw.add("generate", data);
        expected.push({
          label: `prefix ${JSON.stringify(prefix).slice(0, 20)}`,
          id: job.id!,
          provider: "tokenhub",
          outcome: "invalid_request",
          message: /archive\.prefix/,
        });
      }
      const blocked = await scene.client.enqueue({ ...scene.request("hy-image-v3.0", "hostile-store"), archive: { prefix: "blocked" } });
      expected.push({ label: "store error (ENOTDIR)", id: blocked, provider: "tokenhub", outcome: "archive_failed", message: /ENOTDIR/ });
      for (const [mode, outcome, message] of HOSTILE_DOWNLOADS) {
        const request = scene.request("hy-image-v3.0", `hostile-download [sim:download=${mode}]`);
        const id = await scene.client.enqueue(request);
        expected.push({ label: `download ${mode}`, id, provider: "tokenhub", outcome, message });
      }
      const unreadable = await scene.client.enqueue(scene.request("hy-video-1.5", "hostile-unreadable"));
      expected.push({ label: "status answers no reader understands", id: unreadable, provider: "tokenhub", outcome: "bad_response" });
      for (const model of ["MiniMax-Hailuo-2.3", "cogvideox-3"]) {
        const id = await scene.client.enqueue(gatewayRequest(scene.receiver.url, model));
        expected.push({ label: `${model} in the documented shape`, id, provider: "gateway", outcome: "completed" });
      }
      const echoedFailure = await scene.client.enqueue(scene.request("hy-image-v3.0", "hostile-echo [sim:fail]"));
      expected.push({ label: "a task failure quoting the key", id: echoedFailure, provider: "tokenhub", outcome: "task_failed" });
      const refused = await scene.client.enqueue({
        provider: "wcode",
        model: "hunyuan-lite",
        input: { messages: [{ role: "user", content: "chaos hostile echo" }] },
        webhook: { url: scene.receiver.url },
      });
      expected.push({ label: "a 401 quoting the key", id: refused, provider: "wcode", outcome: "authentication" });
      await good(5);
    }
    const statuses = new Map<string, Awaited<ReturnType<typeof scene.client.get>>>();
    for (const provider of new Set(expected.map((e) => e.provider))) {
      const ids = expected.filter((e) => e.provider === provider).map((e) => e.id);
      for (const [id, status] of await scene.settle(ids, 120_000, provider)) statuses.set(id, status);
    }
    let held = 0;
    for (const e of expected) {
      const s = statuses.get(e.id);
      const outcome = s?.state === "completed" ? "completed" : (s?.result?.error?.code ?? /^(\w+):/.exec(s?.failedReason ?? "")?.[1]);
      const message = s?.result?.error?.message ?? s?.failedReason ?? "";
      if (outcome !== e.outcome)
        problems.push(`${e.label}: ${s?.state ?? "missing"} ${outcome ?? ""} (expected ${e.outcome}) ${message.slice(0, 160)}`);
      else if (e.message && !e.message.test(message))
        problems.push(`${e.label}: ${e.outcome}, but its message does not say ${e.message}: ${message.slice(0, 160)}`);
      else held++;
    }
    const archives = await scene.verifyArchives([...statuses.values()].filter((s) => s?.state === "completed"));
    problems.push(...archives.problems);
    for (const [i, worker] of workers.entries()) {
      if (worker.child.exitCode !== null || worker.child.signalCode)
        problems.push(`worker ${i} exited (${worker.child.exitCode ?? worker.child.signalCode})`);
      const crash = worker.output.find((l) => /uncaught|unhandled/i.test(l));
      if (crash) problems.push(`worker ${i}: ${crash.slice(0, 200)}`);
    }
    const leaks = leaksOf(
      [API_KEY, wrongKey],
      [...statuses.values()].map((s) => JSON.stringify(s ?? {})),
      workers.flatMap((w) => w.output),
      scene.receiver.received.map((r) => JSON.stringify(r.payload)),
    );
    problems.push(...leaks);
    return {
      name: "hostile",
      passed: problems.length === 0,
      figure:
        `${expected.length} jobs (${expected.filter((e) => e.outcome !== "completed").length} hostile: prefixes, a store error, ` +
        `endless/huge/trickling/HTML/looping downloads, unreadable and documented-shape answers, providers echoing the key) on 2 workers: ` +
        `${held}/${expected.length} ended as expected, ${archives.outputs} outputs verified, ` +
        `${workers.filter((w) => w.child.exitCode === null && !w.child.signalCode).length}/2 workers up, ${leaks.length} credential leaks`,
      problems: problems.slice(0, 20),
      details: { n: expected.length, held, outputs: archives.outputs },
    };
  } finally {
    await raw.close();
    await scene.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function gatewayRequest(webhookUrl: string, model: string) {
  const prompt = `chaos hostile ${model} ${Date.now()}`;
  return {
    provider: "gateway",
    model,
    input: { messages: [{ role: "user", content: prompt }], images: ["https://example.com/input.png"] },
    webhook: { url: webhookUrl },
    metadata: { prompt },
  };
}

/** Every place one of kiln's provider keys shows up in what others can read: results, worker logs, webhooks. */
function leaksOf(keys: string[], results: string[], logLines: string[], webhooks: string[]): string[] {
  const found: string[] = [];
  for (const [where, texts] of [
    ["a result", results],
    ["a worker log line", logLines],
    ["a webhook", webhooks],
  ] as const) {
    for (const key of keys) {
      const hit = texts.find((t) => t.includes(key));
      if (hit) found.push(`a provider key in ${where}: ${hit.slice(0, 200)}`);
    }
  }
  return found;
}
