/** Tenant labels a process gives when none is configured: enough for the services sharing one kiln, bounded for Prometheus. */
export const DEFAULT_TENANT_LABELS = 50;

/** The label of tenants past the cap. */
const OTHER_TENANT = "other";

/**
 * Bounded cardinality for the tenant label: the first `max` tenants a process sees keep their
 * name, every later one is `other`, so a producer inventing tenants cannot flood Prometheus.
 * Each process decides by what it sees first; a tenant that is `other` in one process may be
 * named in another (sum by tenant over processes then splits it), which a `max` above the number
 * of real tenants avoids.
 */
export class TenantLabels {
  private readonly named = new Set<string>();

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max: must be a whole number of at least 1, got ${max}`);
  }

  of(tenant: string): string {
    if (this.named.has(tenant)) return tenant;
    if (this.named.size >= this.max) return OTHER_TENANT;
    this.named.add(tenant);
    return tenant;
  }
}
