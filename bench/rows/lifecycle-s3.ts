import type { BenchRow } from "../row.js";
import { lifecycleRow } from "../lifecycle.js";

export const row: BenchRow = {
  id: "lifecycle-s3",
  title: "full lifecycle, S3 archive (moto on a keep-alive HTTP/1.1 server; submit, 1 poll, 16 KiB output, signed webhook)",
  run: (ctx) => lifecycleRow(ctx, { id: "lifecycle-s3", title: row.title, s3: true, noopGoal: 0.15 }),
};
