/** In-flight slots as the submit step sees them (`SlotHandoff`). */
export interface SlotGate {
  /** True when the job holds a slot now; false when it has joined the wait for one, in its tenant's lane in enqueue order. */
  acquire(jobId: string, modelId: string, enqueuedAt: number, tenant: string): Promise<boolean>;
  /** True when no cap applies to this model and tenant. */
  uncapped(modelId: string, tenant: string): boolean;
  /** When a job that joined the wait looks at its slot again by itself, ms: its place in line decides. */
  recheckDelayMs(jobId: string): Promise<number>;
}
