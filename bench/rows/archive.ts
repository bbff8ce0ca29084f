import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProviderSimulator } from "@kiln/dev-tools";
import { DEFAULT_ARCHIVE_MEMORY } from "../../src/storage/archive-memory-budget.js";
import { startS3 } from "../../test/support/s3-server.js";
import type { CopyJob, CopyResult } from "../archive-copy.js";
import { MB } from "../measure.js";
import type { BenchContext, BenchRow, RowResult } from "../row.js";

const CONCURRENT = 8;
const GROWTH_GOAL_MIB = 64;
const CONCURRENT_GOAL_MIB = 256;
const RATE_GOAL = 0.85;

/**
 * Archive a large video to S3 (moto_server): kiln's archive path against a plain lib-storage
 * copy of the same URL (default settings) and an undici-to-file copy, then 8 kiln archives at
 * once against the process's archive memory budget. Each copy runs alone in a fresh node
 * process, so its RSS growth is its own, against a fresh S3 server.
 */
export const row: BenchRow = {
  id: "archive",
  title: "archive a large video to S3: MiB/s and peak RSS growth against a plain lib-storage copy",
  async run(context: BenchContext): Promise<RowResult> {
    const videoBytes = Number(process.env.BENCH_ARCHIVE_MB ?? (context.full ? 1024 : 256)) * MB;
    const sim = new ProviderSimulator({ durationsMs: { image: 0, video: 0, "3d": 0 } });
    const base = await sim.start();
    let s3Source = "";
    try {
      // a finished task whose one output is the large video: only its URL is used
      const task = sim.book.create(
        {
          provider: "tokenhub",
          model: "hy-video-1.5",
          prompt: "bench archive",
          durationMs: 0,
          files: [{ format: "mp4", size: videoBytes }],
        },
        sim.options,
        Math.random,
      );
      const url = sim.book.signedUrl(base, task, task.files[0]!);
      // each copy gets an S3 server of its own: moto_server keeps objects in its memory, and one
      // that has held gigabytes writes the next copy slower (kiln after lib-storage at 1 GiB: 0.63)
      const copy = async (mode: CopyJob["mode"], copies = 1): Promise<Measured> => {
        const s3 = await startS3();
        s3Source = s3.source;
        try {
          return await measured({ mode, url, copies, s3, scratchDir: context.scratchDir, budgetBytes: DEFAULT_ARCHIVE_MEMORY }, context);
        } finally {
          await s3.stop();
        }
      };
      context.log(`archive: ${(videoBytes / MB).toFixed(0)} MiB video, a fresh S3 server for each copy`);
      const plain = await copy("lib-storage");
      const kiln = await copy("kiln");
      const file = await copy("file");
      const together = await copy("kiln", CONCURRENT);
      return result(videoBytes, { kiln, plain, file, together }, s3Source);
    } finally {
      await sim.stop();
    }
  },
};

interface Measured extends CopyResult {
  mibPerSecond: number;
  growthMib: number;
}

/** Runs one copy in a fresh process with the collector exposed, and reads its one-line answer. */
async function measured(job: CopyJob, context: BenchContext): Promise<Measured> {
  const script = fileURLToPath(new URL("../archive-copy.js", import.meta.url));
  const child = spawn(process.execPath, ["--expose-gc", script, JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`archive bench copy (${job.mode} ×${job.copies}) exited ${code}`);
  const answer = JSON.parse(out.trim().split("\n").at(-1)!) as CopyResult;
  const measuredCopy = { ...answer, mibPerSecond: answer.bytes / MB / answer.seconds, growthMib: answer.rssGrowthBytes / MB };
  context.log(
    `archive: ${job.mode} ×${job.copies}: ${measuredCopy.mibPerSecond.toFixed(1)} MiB/s, ` +
      `RSS +${measuredCopy.growthMib.toFixed(1)} MiB, ${answer.cpuSeconds.toFixed(1)} s CPU`,
  );
  return measuredCopy;
}

/** The bars' categories besides kiln. */
const PLAIN = "plain lib-storage copy";
const FILE = "undici to a local file";
const TOGETHER = `${CONCURRENT} kiln archives at once`;

function result(
  videoBytes: number,
  m: { kiln: Measured; plain: Measured; file: Measured; together: Measured },
  s3Source: string,
): RowResult {
  const ratio = m.kiln.mibPerSecond / m.plain.mibPerSecond;
  const met = ratio >= RATE_GOAL && m.kiln.growthMib <= GROWTH_GOAL_MIB && m.together.growthMib <= CONCURRENT_GOAL_MIB;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    id: row.id,
    title: row.title,
    kiln: { value: round(m.kiln.mibPerSecond), unit: "MiB/s" },
    baseline: { name: "plain lib-storage copy (default settings)", value: round(m.plain.mibPerSecond), unit: "MiB/s" },
    ratio,
    goal:
      `≥ ${RATE_GOAL * 100}% of the plain copy's rate with ≤ ${GROWTH_GOAL_MIB} MiB RSS growth; ` +
      `${CONCURRENT} archives at once ≤ ${CONCURRENT_GOAL_MIB} MiB`,
    met,
    context: {
      videoMiB: videoBytes / MB,
      s3: s3Source,
      kilnRssGrowthMiB: round(m.kiln.growthMib),
      plainRssGrowthMiB: round(m.plain.growthMib),
      kilnCpuSeconds: round(m.kiln.cpuSeconds),
      plainCpuSeconds: round(m.plain.cpuSeconds),
      fileMiBPerSecond: round(m.file.mibPerSecond),
      fileRssGrowthMiB: round(m.file.growthMib),
      fileCpuSeconds: round(m.file.cpuSeconds),
      concurrentArchives: CONCURRENT,
      concurrentMiBPerSecond: round(m.together.mibPerSecond),
      concurrentRssGrowthMiB: round(m.together.growthMib),
      concurrentCpuSeconds: round(m.together.cpuSeconds),
      archiveMemoryBudgetMiB: DEFAULT_ARCHIVE_MEMORY / MB,
      budgetPeakMiB: round((m.together.budgetPeakBytes ?? 0) / MB),
    },
    bars: [
      {
        axis: "archive throughput (MiB/s)",
        values: { kiln: round(m.kiln.mibPerSecond), [PLAIN]: round(m.plain.mibPerSecond), [FILE]: round(m.file.mibPerSecond) },
      },
      {
        axis: "peak RSS growth (MiB)",
        values: {
          kiln: round(m.kiln.growthMib),
          [PLAIN]: round(m.plain.growthMib),
          [FILE]: round(m.file.growthMib),
          [TOGETHER]: round(m.together.growthMib),
        },
      },
    ],
  };
}

// `node dist-bench/bench/rows/archive.js` runs this row alone (BENCH_ARCHIVE_MB sets the size)
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const scratchDir = await mkdtemp(join(tmpdir(), "kiln-bench-archive-"));
  try {
    const answer = await row.run({ full: process.argv.includes("--full"), scratchDir, log: (line) => console.error(line) });
    console.log(JSON.stringify(answer, null, 2));
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }
}
