import type { VisitHook } from "../visit-hook.js";
import { tenantOf } from "../../contract/tenant.js";

/** What the slot hook needs of the provider's in-flight slots (`SlotHandoff`). */
export interface SlotRelease {
  /** Gives back the job's slot, or its place in a lane, and wakes whoever it goes to. `tenant`: the job's. */
  release(jobId: string, tenant: string): Promise<void>;
  /** True when no cap applies to this model and tenant. */
  uncapped(modelId: string, tenant: string): boolean;
  /** A parked job promotes itself when a slot was handed to it before it was parked. */
  wakeIfHanded(jobId: string): Promise<void>;
}

/**
 * Gives an in-flight slot back as soon as the provider's task is over: its terminal status, a
 * failure, the deadline. A capped job that fails before it holds one (a cancel while it waits)
 * leaves its lane, and a slot handed to it in the meantime goes to the next. (The slot itself
 * is taken by the submit step, which cannot call the provider without it.)
 */
export function slotHook(slotsOf: (provider: string) => SlotRelease): VisitHook {
  return {
    name: "slots",

    async aroundStep(visit, _state, next) {
      // the slots of the provider the job runs at now: a fallback's are another provider's
      const slots = slotsOf(visit.accepted.model.provider);
      const outcome = await next();
      const { state } = outcome;
      const over = outcome.type === "fail" || state.step === "archive" || state.step === "notify";
      const tenant = tenantOf(visit.accepted.request);
      const waiting = outcome.type === "fail" && !slots.uncapped(visit.accepted.model.id, tenant);
      if (!over || !(state.slot || waiting)) return outcome;
      await slots.release(visit.job.id, tenant);
      return { ...outcome, state: { ...state, slot: false } };
    },

    // a slot handed over while the job was still active could not promote it: it promotes itself
    afterPark: (visit) => slotsOf(visit.accepted.model.provider).wakeIfHanded(visit.job.id),

    async abandoned({ job, accepted }, state) {
      const slots = slotsOf(accepted.model.provider);
      const tenant = tenantOf(accepted.request);
      if (state?.slot || !slots.uncapped(accepted.model.id, tenant)) await slots.release(job.id, tenant);
    },
  };
}
