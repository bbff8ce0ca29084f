import type { Job, Queue } from "bullmq";
import type { BatchJobData, BatchSummary } from "../contract/batch-summary.js";

/** The data of a batch's seal child (see `BatchProducer`). */
export interface SealJobData {
  batchId: string;
}

/** What a job of the `batches` queue completes with: a parent its summary, the seal a marker. */
export type BatchJobResult = BatchSummary | { sealed: true };

/** A job of the `batches` queue: a batch parent (`batch`) or its seal child (`seal`). */
export type BatchJob = Job<BatchJobData | SealJobData, BatchJobResult, "batch" | "seal">;

/** The `batches` queue. */
export type BatchQueue = Queue<BatchJobData | SealJobData, BatchJobResult, "batch" | "seal">;
