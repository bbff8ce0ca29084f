import { describe, it, expect } from "vitest";
import { BUSY_SHARE, EventLoopLoad, LATE_AFTER_MS, SubmitPacer, pacedAsSubmit } from "../../src/workers/submit-pacer.js";
import { initialState } from "../../src/state/job-state.js";

/** A pacer on a clock the test moves, in a process whose event loop is as busy as `load.busy` (fully, unless told). */
function pacer(max: number, load = { busy: 1 }) {
  const clock = { now: 1_000_000 };
  return { clock, load, pacer: new SubmitPacer(max, { now: () => clock.now, busy: () => load.busy }) };
}

/** Runs `submit` in its turn, as the worker does; undefined when turned away. */
async function submit<T>(p: SubmitPacer, run: () => Promise<T>): Promise<T | undefined> {
  if (!(await p.take())) return undefined;
  try {
    return await run();
  } finally {
    p.release();
  }
}

/** A submit that runs until the test ends it, whether it has started, and whether it was turned away. */
function heldSubmit(p: SubmitPacer) {
  let started = false;
  let end!: () => void;
  const done = submit(
    p,
    () =>
      new Promise<string>((resolve) => {
        started = true;
        end = () => resolve("ran");
      }),
  );
  return { started: () => started, end: () => end(), done };
}

/** A job `p` delayed, starting `lateMs` after it was due (the test's clock moved on by as much). */
function startLate(p: SubmitPacer, clock: { now: number }, jobId: string, lateMs: number): void {
  p.delayed(jobId, clock.now);
  clock.now += lateMs;
  p.started(jobId);
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("SubmitPacer", () => {
  it("lets every submit run at once while delayed jobs come back on time", async () => {
    const { clock, pacer: p } = pacer(4);
    p.delayed("poll-1", clock.now + 1000);
    clock.now += 1000 + LATE_AFTER_MS; // exactly at the bound: not late
    p.started("poll-1");
    const submits = [1, 2, 3, 4].map(() => heldSubmit(p));
    await settle();
    expect(submits.map((s) => s.started())).toEqual([true, true, true, true]);
    expect(p.allowed).toBe(4);
  });

  it("halves the submits allowed when a delayed job starts late, and holds the rest back", async () => {
    const { clock, pacer: p } = pacer(8);
    p.delayed("poll-1", clock.now + 500);
    clock.now += 500 + LATE_AFTER_MS + 1;
    p.started("poll-1");
    expect(p.allowed).toBe(4);
    const submits = Array.from({ length: 6 }, () => heldSubmit(p));
    await settle();
    expect(submits.filter((s) => s.started())).toHaveLength(4);
    // one ends: one of the held back takes its turn, no more
    submits[0]!.end();
    await settle();
    expect(submits.filter((s) => s.started())).toHaveLength(5);
  });

  it("counts a burst of late jobs as one cut, and cuts again only after 250 ms of lateness", () => {
    const { clock, pacer: p } = pacer(16);
    for (const id of ["a", "b", "c", "d"]) p.delayed(id, clock.now);
    clock.now += 1000;
    p.started("a");
    p.started("b");
    expect(p.allowed).toBe(8);
    clock.now += 250;
    p.started("c");
    expect(p.allowed).toBe(4);
    // late jobs 250 ms apart: each cuts before the limit grows back
    for (let i = 0; i < 10; i++) {
      clock.now += 250;
      p.delayed(`late-${i}`, clock.now - 1000);
      p.started(`late-${i}`);
    }
    expect(p.allowed).toBe(1);
  });

  it("grows back by one per 50 ms from 250 ms after the cut, up to the worker's concurrency", () => {
    const { clock, pacer: p } = pacer(3);
    startLate(p, clock, "late", 1000);
    expect(p.allowed).toBe(1);
    clock.now += 249;
    expect(p.allowed).toBe(1);
    clock.now += 51;
    expect(p.allowed).toBe(2);
    clock.now += 49;
    expect(p.allowed).toBe(2);
    clock.now += 1;
    expect(p.allowed).toBe(3);
    clock.now += 10_000;
    expect(p.allowed).toBe(3);
  });

  it("cuts again from where it has grown back to", () => {
    const { clock, pacer: p } = pacer(40);
    // due a second ago: late as it starts
    const late = (id: string) => {
      p.delayed(id, clock.now - 1000);
      p.started(id);
    };
    late("a");
    expect(p.allowed).toBe(20);
    clock.now += 250 + 10 * 50;
    expect(p.allowed).toBe(30);
    late("b");
    expect(p.allowed).toBe(15);
  });

  it("wakes a waiting submit when the limit grows back, though no other submit ends", async () => {
    const { clock, pacer: p } = pacer(2);
    startLate(p, clock, "late", 1000);
    expect(p.allowed).toBe(1);
    const first = heldSubmit(p);
    const second = heldSubmit(p);
    await settle();
    expect([first.started(), second.started()]).toEqual([true, false]);
    clock.now += 300;
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(second.started()).toBe(true);
    first.end();
    second.end();
    await Promise.all([first.done, second.done]);
  });

  it("ignores a job it did not delay (another worker's, or a new one)", () => {
    const { clock, pacer: p } = pacer(4);
    clock.now += 10_000;
    p.started("never-delayed-here");
    expect(p.allowed).toBe(4);
  });

  it("with pacing off, never holds a submit back, however late the delayed jobs", async () => {
    const clock = { now: 0 };
    const p = new SubmitPacer(2, { now: () => clock.now });
    startLate(p, clock, "late", 10_000);
    expect(p.allowed).toBe(2);
    const submits = [1, 2, 3].map(() => heldSubmit(p));
    await settle();
    expect(submits.every((s) => s.started())).toBe(true);
  });

  it("gives back the turn of a submit that throws", async () => {
    const { pacer: p, clock } = pacer(2);
    startLate(p, clock, "late", 1000);
    expect(p.allowed).toBe(1);
    await expect(submit(p, () => Promise.reject(new Error("provider down")))).rejects.toThrow("provider down");
    const next = heldSubmit(p);
    await settle();
    expect(next.started()).toBe(true);
  });

  it("cuts nothing for late jobs in a process whose event loop is not busy (slow HTTP, a 429 pause, a Redis outage)", () => {
    const { clock, pacer: p, load } = pacer(8, { busy: BUSY_SHARE - 0.01 });
    startLate(p, clock, "late", 5000);
    expect(p.allowed).toBe(8);
    load.busy = BUSY_SHARE;
    p.delayed("late-busy", clock.now);
    clock.now += 5000;
    p.started("late-busy");
    expect(p.allowed).toBe(4);
  });

  it("turns waiting submits away once closed, and every later one, while a running one finishes", async () => {
    const { clock, pacer: p } = pacer(2);
    startLate(p, clock, "late", 1000);
    const running = heldSubmit(p);
    const waiting = heldSubmit(p);
    await settle();
    expect([running.started(), waiting.started()]).toEqual([true, false]);
    p.close();
    expect(await waiting.done).toBeUndefined();
    expect(waiting.started()).toBe(false);
    expect(await p.take()).toBe(false);
    running.end();
    expect(await running.done).toBe("ran");
  });
});

describe("EventLoopLoad", () => {
  it("reads an idle event loop as idle, and one stalled for a second as mostly busy", async () => {
    const load = new EventLoopLoad();
    try {
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(load.busy()).toBeLessThan(0.5);
      const until = Date.now() + 1000;
      while (Date.now() < until) {
        // busy on purpose
      }
      // the overdue sample runs before this timer: its window holds the stall and at most 250 ms before it
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(load.busy()).toBeGreaterThan(0.75);
    } finally {
      load.stop();
    }
  });
});

describe("pacedAsSubmit", () => {
  it("paces a job kiln has not submitted: no state yet, a retried job's run, a state at the submit step", () => {
    expect(pacedAsSubmit(0)).toBe(true);
    expect(pacedAsSubmit(undefined)).toBe(true);
    expect(pacedAsSubmit({ run: 2 })).toBe(true);
    expect(pacedAsSubmit(initialState(Date.now(), 60_000))).toBe(true);
  });

  it("does not pace a submitted job, nor one that waited in line for a slot or the rate", () => {
    const fresh = initialState(Date.now(), 60_000);
    expect(pacedAsSubmit({ ...fresh, step: "poll", taskId: "task-1" })).toBe(false);
    expect(pacedAsSubmit({ ...fresh, step: "archive" })).toBe(false);
    expect(pacedAsSubmit({ ...fresh, waitingSince: Date.now() - 5000 })).toBe(false);
  });
});
