import type { JobState, PollState } from "../../src/state/job-state.js";

/** `state` as the poll state a step handed back; fails the test when the job left polling. */
export function asPolling(state: JobState): PollState {
  if (state.step !== "poll") throw new Error(`expected the job still polling, but it is at ${state.step}`);
  return state;
}
