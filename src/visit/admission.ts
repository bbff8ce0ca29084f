import type { GenerationError } from "../contract/generation-result.js";

/** The answer before a submit: go ahead, or fail the job with `error` before the provider hears of it. */
export type Admission = { ok: true } | { ok: false; error: GenerationError };
