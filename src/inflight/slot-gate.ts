/** In-flight slots as the submit step sees them (`SlotHandoff`). */
export interface SlotGate {
  /** True when the job holds a slot now; false when it has joined the wait for one, in its tenant's lane in enqueue order. */
  acquire(jobId: string, modelId: string, enqueuedAt: number, tenant: string): Promise<boolean>;
  /** True when no cap and no rate applies to this model and tenant: a submit need not ask. */
  uncapped(modelId: string, tenant: string): boolean;
  /** True when a cap applies: the submitted task holds its slot until it ends. */
  holdsSlot(modelId: string, tenant: string): boolean;
  /**
   * Room in the provider's rate for a poll: 0 when taken, else the ms until there is some.
   * `chance`: how likely the poll is to find its task done (the schedule's `pollChance`); in the
   * line of refused polls, likelier ones stand further ahead. `tenant`: whose poll it is; while
   * its tenant also waits to submit, it yields to a tenant behind in the fair share.
   */
  request(jobId: string, tenant: string, chance?: number): Promise<number>;
  /**
   * The share of the provider's rate its recent polls left unused (0–1), as this process's polls
   * read the window (none while submits wait for room); undefined without a rate, or before a
   * poll read it. The poll schedule spends what is spare.
   */
  spareRate(): number | undefined;
  /** When a job that joined the wait looks at its slot again by itself, ms: its place in line decides. */
  recheckDelayMs(jobId: string): Promise<number>;
}
