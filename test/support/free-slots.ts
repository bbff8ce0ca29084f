import type { SlotGate } from "../../src/inflight/slot-gate.js";

/** A `SlotGate` with no cap and no rate: every submit may go, at once (unit tests of the steps and the pipeline). */
export const FREE_SLOTS: SlotGate = {
  acquire: async () => true,
  uncapped: () => true,
  holdsSlot: () => false,
  request: async () => 0,
  spareRate: () => undefined,
  recheckDelayMs: async () => 1,
};
