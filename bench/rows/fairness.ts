import { fairnessRow } from "../fairness-row.js";

const CAP = 10;

/** Fair shares behind the in-flight cap of 10 (tasks of 1 s at this scale: 10 start per second). */
export const row = fairnessRow({
  id: "fairness",
  title: "a tenant's wait behind another's bulk at an in-flight cap (fair shares vs FIFO)",
  name: `an in-flight cap of ${CAP}`,
  env: { KILN_TOKENHUB_MAX_INFLIGHT: String(CAP) },
  tasksPerSecond: CAP,
});
