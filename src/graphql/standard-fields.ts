// The standard event fields as the GraphQL schema shows them. Which fields there are and what they
// mean come from the wire contract (STANDARD_SCHEMA_FIELDS); decided here are only the GraphQL
// names, the input types and what an input field adds about giving it.
import { STANDARD_SCHEMA_FIELDS, type StandardEvent } from '../wire/index.js';

interface StandardGraphQLField {
  /** The GraphQL field name: the wire key in camelCase (tenant_id → tenantId). */
  name: string;
  /** The key on the wire and in the stored event. */
  key: keyof StandardEvent;
  /** What the field holds (AuditEvent). */
  description: string;
  /** The same, plus how to give it (AuditEventInput). */
  inputDescription: string;
  required: boolean;
  inputType: 'String' | 'JSON' | 'DateTime';
}

/** Fields holding a changed value, which callers often have as an object: any JSON value is taken. */
const JSON_INPUT: ReadonlySet<keyof StandardEvent> = new Set(['old', 'new']);

const INPUT_NOTES: Partial<Record<keyof StandardEvent, string>> = {
  tenant_id: 'Set for you when your key is bound to one.',
};

const camelCase = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export const STANDARD_GRAPHQL_FIELDS: readonly StandardGraphQLField[] = STANDARD_SCHEMA_FIELDS.map((f) => ({
  name: camelCase(f.id),
  key: f.id,
  description: f.description,
  inputDescription: INPUT_NOTES[f.id] ? `${f.description} ${INPUT_NOTES[f.id]}` : f.description,
  required: 'required' in f && f.required,
  inputType: JSON_INPUT.has(f.id) ? 'JSON' : f.type === 'datetime' ? 'DateTime' : 'String',
}));

const WIRE_KEY = new Map<string, string>(STANDARD_GRAPHQL_FIELDS.map((f) => [f.name, f.key]));

/** The wire key of a GraphQL input field (the name itself when it is not a standard field). */
export function wireKey(graphqlName: string): string {
  return WIRE_KEY.get(graphqlName) ?? graphqlName;
}
