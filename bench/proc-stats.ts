import { readFileSync } from "node:fs";

/** Linux reports process CPU in clock ticks; 100 per second on every kernel this runs on (CLK_TCK). */
const MS_PER_TICK = 10;

/** CPU time (user + system) a process has used so far, ms, from /proc/<pid>/stat; 0 once it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name may hold spaces and parentheses: fields are counted after its closing one
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  } catch {
    return 0;
  }
}

/** Resident memory of a process, MiB, from /proc/<pid>/status; 0 once it is gone. */
export function rssMibOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * CPU used by each named process between `start()` and `stop()`: ms, and the share of one core
 * over the wall time between them (1 = one core busy all along).
 */
export class CpuMeter {
  private startedAt = 0;
  private readonly before = new Map<string, number>();

  constructor(private readonly pids: Record<string, number | undefined>) {}

  start(): this {
    this.startedAt = Date.now();
    for (const [name, pid] of Object.entries(this.pids)) if (pid) this.before.set(name, cpuMsOf(pid));
    return this;
  }

  /** `{ "<name> CPU ms": ..., "<name> CPU share": ... }` for every process, ready for a row's context. */
  stop(): Record<string, number> {
    const wallMs = Math.max(1, Date.now() - this.startedAt);
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      if (!pid) continue;
      const used = cpuMsOf(pid) - (this.before.get(name) ?? 0);
      out[`${name} CPU ms`] = used;
      out[`${name} CPU share`] = round(used / wallMs, 2);
    }
    return out;
  }
}

/** Samples a process's RSS every `everyMs` until stopped: peak and last, MiB. */
export class ProcessRssSampler {
  private peak = 0;
  private samples: number[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly pid: number) {}

  start(everyMs = 250): this {
    this.timer = setInterval(() => {
      const rss = rssMibOf(this.pid);
      this.peak = Math.max(this.peak, rss);
      this.samples.push(rss);
    }, everyMs);
    return this;
  }

  stop(): { peakMib: number; medianMib: number } {
    clearInterval(this.timer);
    const sorted = [...this.samples].sort((a, b) => a - b);
    return { peakMib: this.peak, medianMib: sorted[Math.floor(sorted.length / 2)] ?? rssMibOf(this.pid) };
  }
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The q-quantile (0..1) of `values`, nearest rank; NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
