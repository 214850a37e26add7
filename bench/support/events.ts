// The events the benchmarks log: shaped like real ones (the standard fields, about 5,000 actors,
// 100 tenants), the same for every run so figures compare across runs.
const ACTIONS = ['login', 'logout', 'update', 'delete', 'create', 'read'];
const STATUSES = ['success', 'failure', 'pending'];

export function benchEvent(i: number): Record<string, string> {
  return {
    message: `user-${i % 5000} ${ACTIONS[i % 6]} record ${i} from the web console`,
    actor: `user-${i % 5000}`,
    action: ACTIONS[i % 6]!,
    target: `record-${i % 100_000}`,
    status: STATUSES[i % 3]!,
    source: i % 2 ? 'web' : 'api',
    tenant_id: `tenant-${i % 100}`,
  };
}
