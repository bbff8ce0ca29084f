import { scrubbedOutcome } from "./scrubbed-outcome.js";
import type { VisitHook } from "../visit-hook.js";

/**
 * Scrubs every step's outcome of the configured secrets and the job's own webhook secret (see
 * `scrubbedOutcome`) before anything stores, sends or logs it. List it last: it must see the
 * step's outcome before any other hook does.
 */
export const scrubHook: VisitHook = {
  name: "scrub",
  async aroundStep(visit, _state, next) {
    return scrubbedOutcome(await next(), visit.ctx.secrets);
  },
};
