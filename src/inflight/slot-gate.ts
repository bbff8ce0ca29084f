/** In-flight slots as the submit step sees them (`SlotHandoff`). */
export interface SlotGate {
  /** True when the job holds a slot now; false when it has joined the wait for one, in its tenant's lane in enqueue order. */
  acquire(jobId: string, modelId: string, enqueuedAt: number, tenant: string): Promise<boolean>;
  /** True when no cap and no rate applies to this model and tenant: a submit need not ask. */
  uncapped(modelId: string, tenant: string): boolean;
  /** True when a cap applies: the submitted task holds its slot until it ends. */
  holdsSlot(modelId: string, tenant: string): boolean;
  /** Room in the provider's rate for a poll: 0 when taken, else the ms until there is some. */
  request(jobId: string): Promise<number>;
  /** When a job that joined the wait looks at its slot again by itself, ms: its place in line decides. */
  recheckDelayMs(jobId: string): Promise<number>;
}
