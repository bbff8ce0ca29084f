/**
 * The env-variable form of a model id, as `KILN_<PROVIDER>_MAX_INFLIGHT_<MODEL>` spells it
 * (`modelInflightCaps` in config/): upper-cased, every character other than A-Z and 0-9 as `_`.
 */
export function envModelName(modelId: string): string {
  return modelId.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}
