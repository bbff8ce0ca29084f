import type { ArchivedOutput } from "../../contract/generation-result.js";
import type { Usage } from "../../contract/usage.js";
import { USAGE_UNITS } from "../../contract/usage.js";
import { reuseKey } from "../../reuse/reuse-key.js";
import type { ReuseHandoff } from "../../reuse/reuse-handoff.js";
import type { ReusableResult } from "../../reuse/reuse-registry.js";
import type { JobState, SubmitState } from "../../state/job-state.js";
import { archiveKey } from "../steps/archive-step.js";
import { cancelledError } from "../../cancel/cancel-guard.js";
import { outcomeOfError } from "../steps/error-outcome.js";
import type { StepOutcome } from "../steps/step-outcome.js";
import type { JobRef, VisitHook } from "../visit-hook.js";
import type { Visit } from "../visit.js";

/** What the reuse hook needs of identical requests (`ReuseHandoff`). */
export type ReuseLine = Pick<ReuseHandoff, "claim" | "publish" | "abandon" | "leave" | "runningLeader" | "isLive" | "wake">;

/** How often a job waiting on an identical request looks at it by itself, before `KILN_POLL_SCALE`. */
const REUSE_RECHECK_MS = 30_000;

/** A running record outlives its job's deadline and archiving by this much before Redis drops it unasked (above `MAX_RECHECK_MS`). */
const RUNNING_MARGIN_MS = 2 * 60 * 60_000;

/** How many times one visit asks again after finding a leader gone or a result's objects gone. */
const MAX_CLAIMS = 3;

/**
 * Reuse of identical requests (`reuse` in the request, docs/reuse.md). Before a job's first
 * submit it asks the registry where it stands:
 * - **leader**: nothing identical runs or completed within its TTL; it submits, and when it
 *   completes its result is offered to the identical requests after it (`beforeFinish`);
 * - **follower**: an identical request runs now; the job waits on it as a delayed job,
 *   holding neither a worker nor an in-flight slot, and is woken by its result or failure;
 * - **done**: an identical request completed within the TTL; its archived outputs are copied to
 *   this job's own keys, and the job completes with `reusedFrom`, usage 0 and no task.
 *
 * A leader that fails gives its record up, and its waiters ask again: the first becomes the
 * new leader and submits. A waiter that finds its leader gone (removed, or ended without a
 * word) does the same. Every decision is a script on Redis, so two identical requests
 * arriving together make exactly one submission.
 */
export function reuseHook(line: ReuseLine, cancelRequest: (jobId: string) => Promise<string | undefined>): VisitHook {
  // the leader each parked visit waits on: its afterPark checks the wake-up was not missed
  const waitingOn = new WeakMap<Visit, { key: string; leader: string }>();

  return {
    name: "reuse",

    async aroundStep(visit, state, next) {
      const reuse = visit.accepted.request.reuse;
      if (!reuse || state.step !== "submit" || state.taskId) return next();
      const key = keyOf(visit);
      // a cancelled job ends as cancelled (the step's guard says so), never waits or copies: it leaves the key
      if (await cancelledError(visit, state, cancelRequest)) {
        await giveUp(line, key, visit);
        return next();
      }
      // outlives the longest the job can go without a visit: a re-check in line (1 h at most), its task, its archiving
      const runningTtlMs = visit.ctx.deadlineMs + visit.ctx.archiveWindowMs + RUNNING_MARGIN_MS;
      for (let asked = 1; ; asked++) {
        const claim = await line.claim(key, visit.job.id, reuse.ttl * 1000, runningTtlMs);
        const again = asked < MAX_CLAIMS;
        if (claim.role === "leader") {
          const outcome = await next();
          // a leader that fails or moves on to a fallback leaves this key: its waiters generate it themselves
          if (outcome.type === "fail") await giveUp(line, key, visit);
          return outcome;
        }
        if (claim.role === "done") {
          const copied = await copyOutputs(visit, state, claim.result, claim.from).catch((err: unknown) =>
            outcomeOfError(err, state, visit.ctx),
          );
          if (copied) return copied;
          // the result's objects are gone (a lifecycle rule, a cleanup): it cannot be reused, so it is forgotten
          visit.ctx.log.warn(
            { jobId: visit.job.id, reusedFrom: claim.from },
            "an identical result's outputs are gone from the store; generating anew",
          );
          await line.abandon(key, claim.from, "done");
        } else if (await line.isLive(claim.leader)) {
          waitingOn.set(visit, { key, leader: claim.leader });
          const delayMs = Math.max(100, REUSE_RECHECK_MS * visit.ctx.pollScale);
          return { type: "park", state, delayMs, reason: `waiting for identical request ${claim.leader}` };
        } else {
          // the leader ended without a word (removed, or failed before it could say): its waiters take over
          await line.abandon(key, claim.leader);
        }
        if (!again) return next();
      }
    },

    async afterPark(visit) {
      const waiting = waitingOn.get(visit);
      // the leader ended while this job was still active: nobody could promote it, so it promotes itself
      if (waiting && (await line.runningLeader(waiting.key)) !== waiting.leader) await line.wake([visit.job.id]);
    },

    async beforeFinish(job, result) {
      const reuse = job.accepted.request.reuse;
      if (!reuse) return;
      const key = keyOf(job);
      if (result.status === "completed" && result.reusedFrom === undefined) {
        const reusable: ReusableResult = { outputs: result.outputs, completion: result.completion, usage: result.usage };
        await line.publish(key, job.job.id, reusable, reuse.ttl * 1000);
      } else if (result.status === "failed") await giveUp(line, key, job);
    },

    async abandoned(job) {
      if (job.accepted.request.reuse) await giveUp(line, keyOf(job), job);
    },
  };
}

/** A failed job never offers its result: a record it leads is dropped (its waiters ask again), and it waits on none. */
async function giveUp(line: ReuseLine, key: string, job: JobRef): Promise<void> {
  await line.abandon(key, job.job.id);
  await line.leave(key, job.job.id);
}

function keyOf({ accepted }: Pick<JobRef, "accepted">): string {
  return reuseKey(accepted.request, accepted.model, accepted.input);
}

/**
 * The job completed from an identical one's result: each output copied to this job's own key
 * (the same bytes, so the same hash), usage zero. Undefined when an output is gone from the
 * store. A crash midway copies again: the keys are the same and every copy is whole or absent.
 */
async function copyOutputs(visit: Visit, state: SubmitState, result: ReusableResult, from: string): Promise<StepOutcome | undefined> {
  const { ctx } = visit;
  const archived: ArchivedOutput[] = [];
  for (const output of result.outputs) {
    const ext = /\.([A-Za-z0-9]+)$/.exec(output.key)?.[1] ?? "bin";
    const stored = await ctx.store.copy(output.key, archiveKey(ctx, output.index, ext), output.contentType);
    if (!stored) return undefined;
    archived.push({ ...output, key: stored.key, url: stored.url });
  }
  const now = ctx.now();
  const reused: JobState = {
    ...state,
    step: "notify",
    errors: 0,
    archived,
    archivedAt: now,
    completion: result.completion,
    usage: result.usage && zeroUsage(result.usage),
    reusedFrom: from,
  };
  ctx.log.debug({ jobId: ctx.jobId, reusedFrom: from, outputs: archived.length }, "reused an identical request's outputs");
  return { type: "next", state: reused };
}

/** The same figures at zero: the reused job spent nothing. */
function zeroUsage(usage: Usage): Usage {
  const zero: Usage = { source: usage.source };
  for (const unit of USAGE_UNITS) if (usage[unit] !== undefined) zero[unit] = 0;
  return zero;
}
