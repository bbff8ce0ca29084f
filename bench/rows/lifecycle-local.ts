import type { BenchRow } from "../row.js";
import { lifecycleRow } from "../lifecycle.js";

export const row: BenchRow = {
  id: "lifecycle-local",
  title: "full lifecycle, local archive (submit, 1 poll, 16 KiB output, signed webhook)",
  run: (ctx) => lifecycleRow(ctx, { id: "lifecycle-local", title: row.title, s3: false, noopGoal: 0.25 }),
};
