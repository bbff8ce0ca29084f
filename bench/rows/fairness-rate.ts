import { fairnessRow } from "../fairness-row.js";

const RATE = 40;

/**
 * Fair shares behind a rate and no cap: 40 requests a second, submits and polls together, about
 * as many tasks a second as the cap of the `fairness` row once each task's few polls are paid.
 */
export const row = fairnessRow({
  id: "fairness-rate",
  title: "a tenant's wait behind another's bulk at a provider's rate (fair shares vs FIFO)",
  name: `a rate of ${RATE} requests a second`,
  env: { KILN_TOKENHUB_RATE: String(RATE) },
});
