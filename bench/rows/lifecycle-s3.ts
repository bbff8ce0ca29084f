import type { BenchRow } from "../row.js";
import { lifecycleRow } from "../lifecycle.js";

export const row: BenchRow = {
  id: "lifecycle-s3",
  title: "full lifecycle, S3 archive (S3 server of the tests: moto_server here)",
  run: (ctx) => lifecycleRow(ctx, { id: "lifecycle-s3", title: row.title, s3: true, goal: 0.15 }),
};
