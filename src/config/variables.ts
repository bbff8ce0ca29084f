import { Environment } from "./load.js";
import { TracingEnvironment } from "./tracing.js";

/**
 * The variable names no schema can list: per-model in-flight caps, read by `modelInflightCaps`
 * (`<PROVIDER>` is TOKENHUB, GATEWAY or WCODE; `<MODEL>` the model id upper-cased, `_` for the rest).
 */
export const VARIABLE_PATTERNS = ["KILN_<PROVIDER>_MAX_INFLIGHT_<MODEL>"] as const;

/**
 * Every variable kiln reads by name, from the schemas that read them: `Environment`'s and the
 * tracing ones. (Credentials libraries read for themselves, which kiln only scrubs from its logs,
 * are not kiln's settings.) docs/configuration.md documents each, and `.env.example` lists each
 * for compose: tests and `npm run compose:check` compare them with this list, so none is left out.
 */
export function configVariableNames(): string[] {
  return [...Object.keys(Environment.shape), ...Object.keys(TracingEnvironment.shape)];
}
