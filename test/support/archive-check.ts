import { createHash } from "node:crypto";
import { expect } from "vitest";
import type { ArchiveStore } from "../../src/storage/archive-store.js";
import type { GenerationStatus } from "../../src/producers/generation-client.js";
import type { KilnHarness } from "./kiln-harness.js";

/** sha256 and size of an object as the store holds it, read back in full. */
export async function storedDigest(store: ArchiveStore, key: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of await store.get(key)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

/** The whole object as text. */
export async function storedText(store: ArchiveStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Waits for `id` to complete and checks that every archived output is the simulator's file
 * byte for byte: the result's sha256 equals the simulator's, and so does what the store holds.
 */
export async function expectArchivedAsServed(
  h: KilnHarness,
  id: string,
): Promise<GenerationStatus & { result: NonNullable<GenerationStatus["result"]> }> {
  const status = await h.client.waitFor(id, { timeoutMs: 30_000 });
  expect(status.state, status.failedReason).toBe("completed");
  const result = status.result!;
  // the harness's requests carry their unique prompt in metadata, which finds the simulator's task
  const submission = h.simulator.stats().submissions.find((s) => s.prompt === result.metadata?.prompt);
  const task = h.simulator.book.tasks.get(result.providerTaskId ?? submission?.taskId ?? "")!;
  expect(task, "the simulator task behind the job").toBeDefined();
  expect(result.outputs.map((o) => o.sha256)).toEqual(task.files.map((f) => f.sha256));
  for (const output of result.outputs) {
    expect(await storedDigest(h.workers!.store, output.key)).toEqual({ sha256: output.sha256, bytes: output.bytes });
  }
  return { ...status, result };
}
