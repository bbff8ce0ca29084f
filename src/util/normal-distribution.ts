/**
 * The standard normal distribution's CDF and its inverse, for the poll schedule's log-normal
 * belief about a task's duration. Accurate to about 1e-7 (CDF) and 1e-9 (inverse), far finer
 * than any poll delay needs.
 */
export const normal = {
  /** Φ(z): Abramowitz and Stegun 7.1.26 applied to erf. */
  cdf(z: number): number {
    const x = Math.abs(z) / Math.SQRT2;
    const t = 1 / (1 + 0.3275911 * x);
    const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    const erf = 1 - poly * Math.exp(-x * x);
    return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
  },

  /** Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation; clamps p to [1e-12, 1 - 1e-12]. */
  quantile(p: number): number {
    const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
    if (q < P_LOW) return tail(q);
    if (q > 1 - P_LOW) return -tail(1 - q);
    const r = (q - 0.5) ** 2;
    return (
      ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * (q - 0.5)) /
      (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
    );
  },
};

const P_LOW = 0.02425;
const A = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239] as const;
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771082, -13.28068155288572] as const;
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783,
] as const;
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416] as const;

/** Φ⁻¹(p) for the lower tail p < P_LOW. */
function tail(p: number): number {
  const s = Math.sqrt(-2 * Math.log(p));
  return (((((C[0] * s + C[1]) * s + C[2]) * s + C[3]) * s + C[4]) * s + C[5]) / ((((D[0] * s + D[1]) * s + D[2]) * s + D[3]) * s + 1);
}
