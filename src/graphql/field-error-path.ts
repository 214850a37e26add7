// Where a FieldError of the audit service sits among the GraphQL arguments of the field that
// failed. The service points (JSON pointer) into the REST body the gateway built, whose keys are
// the wire's (snake_case, bulk items wrapped in {event}, a search restriction keyed by field);
// each field builds its body from its arguments its own way, so each has its own translation.
// A pointer at something no argument gives (verbose, limit, a signature the gateway adds) or that
// the dotted form cannot spell without ambiguity has no path: null, never a guess.
import { Kind, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { STANDARD_GRAPHQL_FIELDS } from './standard-fields.js';

type Segments = readonly string[];
/** Pointer segments (unescaped) → GraphQL argument path segments, or null when none is sound. */
type Translate = (segments: Segments) => string[] | null;

/** Wire key of a standard event field → its AuditEventInput field. */
const STANDARD_INPUT_FIELD = new Map<string, string>(STANDARD_GRAPHQL_FIELDS.map((f) => [f.key, f.name]));

/** A field of an AuditEventInput sent as an event: only its own fields can be at fault. */
function standardEvent(rest: Segments): string[] | null {
  if (rest.length === 0) return [];
  const field = rest.length === 1 ? STANDARD_INPUT_FIELD.get(rest[0]!) : undefined;
  return field === undefined ? null : [field];
}

const isIndex = (s: string | undefined): s is string => s !== undefined && /^(0|[1-9]\d*)$/.test(s);

/** {event} from `event: AuditEventInput!`. */
const single: Translate = ([top, ...rest]) => {
  if (top !== 'event') return null;
  const event = standardEvent(rest);
  return event && ['event', ...event];
};

/** {events: [{event, signature?, public_key?}]} from `events: [AuditEventInput!]!`. */
const bulk: Translate = ([top, index, item, ...rest]) => {
  if (top !== 'events') return null;
  if (index === undefined) return ['events'];
  if (!isIndex(index)) return null;
  if (item === undefined) return ['events', index];
  if (item !== 'event') return null;
  const event = standardEvent(rest);
  return event && ['events', index, ...event];
};

/**
 * A body whose members each come from one argument. Members in `whole` hold a value reshaped on
 * the way (a restriction is a {field: values} object on the wire, a list of {field, values} in
 * GraphQL): a pointer inside one names the argument itself.
 */
function members(byMember: Record<string, string>, whole: readonly string[] = []): Translate {
  const args = new Map(Object.entries(byMember));
  return ([member, ...rest]) => {
    const arg = member === undefined ? undefined : args.get(member);
    if (arg === undefined || (rest.length > 0 && !whole.includes(member!))) return null;
    return [arg];
  };
}

const TRANSLATIONS = new Map<string, Translate>([
  ['log', single],
  // The event argument is the event object, sent with its own keys.
  ['logEvent', ([top, ...rest]) => (top === 'event' ? ['event', ...rest] : null)],
  ['logBulk', bulk],
  ['logBulkAsync', bulk],
  // The data argument is the request body.
  ['logStream', (segments) => ['data', ...segments]],
  [
    'search',
    members(
      { query: 'query', start: 'start', end: 'end', order: 'order', order_by: 'orderBy', max_results: 'maxResults', search_restriction: 'searchRestriction', return_context: 'returnContext' },
      ['search_restriction'],
    ),
  ],
  ['results', members({ id: 'resultId', assert_search_restriction: 'assertSearchRestriction', return_context: 'returnContext' }, ['assert_search_restriction'])],
  ['export', members({ format: 'format', start: 'start', end: 'end', order: 'order', order_by: 'orderBy', verbose: 'verbose' })],
  ['downloadResults', members({ result_id: 'resultId', request_id: 'requestId', format: 'format' })],
  ['root', members({ tree_size: 'treeSize' })],
]);

/** RFC 6901 segments of `pointer`, or undefined when it is not a JSON pointer. */
function pointerSegments(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * The dotted GraphQL argument path (e.g. `events.1.actor`) the upstream's JSON pointer `source`
 * names in a request made by root field `fieldName`, or null when no argument path says it
 * soundly.
 */
export function graphqlArgumentPath(fieldName: string | undefined, source: string): string | null {
  const translate = fieldName === undefined ? undefined : TRANSLATIONS.get(fieldName);
  const segments = pointerSegments(source);
  if (!translate || !segments) return null;
  const path = translate(segments);
  // A key holding a dot (or empty) would read as other keys once joined.
  if (!path || path.length === 0 || path.some((s) => s === '' || s.includes('.'))) return null;
  return path.join('.');
}

/** The field name behind response key `key` in a selection set (aliases and fragments followed). */
function fieldNamed(set: SelectionSetNode, key: string, fragments: Record<string, FragmentDefinitionNode>, seen: Set<string>): string | undefined {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if ((selection.alias ?? selection.name).value === key) return selection.name.value;
      continue;
    }
    let inner: SelectionSetNode | undefined = undefined;
    if (selection.kind === Kind.INLINE_FRAGMENT) inner = selection.selectionSet;
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      inner = fragments[selection.name.value]?.selectionSet;
    }
    const found = inner && fieldNamed(inner, key, fragments, seen);
    if (found) return found;
  }
  return undefined;
}

/**
 * The root field whose typed error `info` resolves a field of (UpstreamValidationError.fieldErrors
 * sits right under it). Validation makes every selection of one response key at the root the same
 * field, so the first found is the one. Undefined when the error is not a root field's.
 */
export function failedRootField(info: GraphQLResolveInfo): string | undefined {
  const owner = info.path.prev;
  if (!owner || owner.prev !== undefined || typeof owner.key !== 'string') return undefined;
  return fieldNamed(info.operation.selectionSet, owner.key, info.fragments, new Set());
}
