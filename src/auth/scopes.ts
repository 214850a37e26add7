// What a caller may do: every GraphQL field is guarded by one of these scopes (Pothos scope-auth).
import { CallerConfigError } from './errors.js';

export const SCOPES = ['audit:log', 'audit:search', 'audit:export', 'audit:root'] as const;
export type Scope = (typeof SCOPES)[number];

/** A scope list as configured (a list, or a space/comma-separated string); `where` names its origin in errors. */
export function parseScopes(value: unknown, where: string): Set<Scope> {
  const list = typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : value;
  if (!Array.isArray(list) || list.length === 0) throw new CallerConfigError(`${where}: scopes must be a non-empty list of ${SCOPES.join(', ')}`);
  const scopes = new Set<Scope>();
  for (const s of list) {
    if (!SCOPES.includes(s as Scope)) throw new CallerConfigError(`${where}: unknown scope "${String(s)}" (known: ${SCOPES.join(', ')})`);
    scopes.add(s as Scope);
  }
  return scopes;
}
