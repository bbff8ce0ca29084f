import { partitionOf } from "../../src/queue/partitions.js";

/** Ids `<stem>-<n>`, `each` of them in every one of `count` partitions. */
export function idsCovering(stem: string, count: number, each: number): string[] {
  const ids: string[] = [];
  const per = new Array<number>(count).fill(0);
  for (let n = 0; per.some((c) => c < each); n++) {
    const id = `${stem}-${n}`;
    const p = partitionOf(id, count);
    if (per[p]! >= each) continue;
    per[p]!++;
    ids.push(id);
  }
  return ids;
}
