// audit_gateway_verification_checks_total as a gateway's /metrics shows it now, read with the same
// Prometheus text parser the observability tests use.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

interface Family {
  name: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string }>;
}

/** The count for (check, status) at the moment of the call; 0 for a pair never counted. */
export type VerificationChecks = (check: string, status: string) => number;

/** Reads the counter from the gateway serving `anyUrl` (its GraphQL URL or origin). */
export async function verificationChecks(anyUrl: string | URL): Promise<VerificationChecks> {
  const text = await (await fetch(new URL('/metrics', anyUrl))).text();
  const families = parsePrometheusTextFormat(text) as Family[];
  const series = families.find((family) => family.name === 'audit_gateway_verification_checks_total')?.metrics ?? [];
  return (check, status) => Number(series.find((s) => s.labels?.check === check && s.labels.status === status)?.value ?? 0);
}

/** What was counted between two readings. */
export function countedSince(before: VerificationChecks, after: VerificationChecks): VerificationChecks {
  return (check, status) => after(check, status) - before(check, status);
}
