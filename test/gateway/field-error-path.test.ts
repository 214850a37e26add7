// FieldError.path names the place the audit service's pointer (source, into the REST body) points
// at among the GraphQL arguments of the failed field, end to end through POST /graphql over the
// embedded local audit service; null where no argument gives what the pointer names.
import { graphqlArgumentPath } from '../../src/graphql/field-error-path.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const FIELD_ERRORS = `__typename ... on UpstreamValidationError { fieldErrors { code source path } }`;

const LOG = `mutation Log($event: AuditEventInput!) { log(event: $event) { ${FIELD_ERRORS} } }`;
const LOG_EVENT = `mutation LogEvent($event: JSON!) { logEvent(event: $event) { ${FIELD_ERRORS} } }`;
const LOG_BULK = `mutation LogBulk($events: [AuditEventInput!]!) { logBulk(events: $events) { ${FIELD_ERRORS} } }`;
const SEARCH = `
  query Search($query: String!, $maxResults: Int, $restriction: [SearchRestrictionInput!]) {
    search(query: $query, maxResults: $maxResults, searchRestriction: $restriction) { ${FIELD_ERRORS} }
  }`;

describe('FieldError.path', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  /** Runs the document twice: the repeat runs compiled (graphql-jit), whose resolve info differs. */
  async function fieldErrors(query: string, variables: Record<string, unknown>, field: string): Promise<Json[]> {
    const answers: Json[] = [];
    for (let run = 0; run < 2; run++) {
      const result = (await gw.runOk(query, variables))[field];
      expect(result.__typename).toBe('UpstreamValidationError');
      answers.push(result.fieldErrors);
    }
    expect(answers[1]).toEqual(answers[0]);
    return answers[0];
  }

  test('log: the AuditEventInput field (tenantId, not tenant_id)', async () => {
    const errors = await fieldErrors(LOG, { event: { message: 'm', tenantId: 't'.repeat(200) } }, 'log');
    expect(errors).toEqual([expect.objectContaining({ source: '/event/tenant_id', path: 'event.tenantId' })]);
  });

  test('logBulk: the event in the events list, without the wire item level', async () => {
    const errors = await fieldErrors(LOG_BULK, { events: [{ message: 'fine' }, { message: 'bad', actor: 'a'.repeat(500) }] }, 'logBulk');
    expect(errors).toEqual([expect.objectContaining({ source: '/events/1/event/actor', path: 'events.1.actor' })]);
  });

  test('logEvent: the event keeps its own keys', async () => {
    const errors = await fieldErrors(LOG_EVENT, { event: { message: 'm', action: 'x'.repeat(40) } }, 'logEvent');
    expect(errors).toEqual([expect.objectContaining({ source: '/event/action', path: 'event.action' })]);
  });

  test('search: the GraphQL arguments (maxResults, searchRestriction)', async () => {
    const tooMany = await fieldErrors(SEARCH, { query: '', maxResults: 0 }, 'search');
    expect(tooMany).toEqual([expect.objectContaining({ source: '/max_results', path: 'maxResults' })]);
    const unknownField = await fieldErrors(SEARCH, { query: '', restriction: [{ field: 'no_such_field', values: ['x'] }] }, 'search');
    expect(unknownField).toEqual([expect.objectContaining({ source: '/search_restriction/no_such_field', path: 'searchRestriction' })]);
  });

  test('logStream: under its data argument', async () => {
    const errors = await fieldErrors(`mutation S($data: JSON!) { logStream(data: $data) { ${FIELD_ERRORS} } }`, { data: { logs: [{ log_id: '1' }] } }, 'logStream');
    expect(errors).toEqual([expect.objectContaining({ source: '/logs/0/data', path: 'data.logs.0.data' })]);
  });

  test('an alias, or the field inside a fragment, is still the field it names', async () => {
    const query = `
      mutation Bulk($events: [AuditEventInput!]!) { ...Writes }
      fragment Writes on Mutation { ... on Mutation { first: logBulk(events: $events) { ${FIELD_ERRORS} } } }`;
    const errors = await fieldErrors(query, { events: [{ message: 'ok' }, { message: 'bad', status: 's'.repeat(40) }] }, 'first');
    expect(errors).toEqual([expect.objectContaining({ source: '/events/1/event/status', path: 'events.1.status' })]);
  });

  test('a pointer no dotted argument path can spell is null; source stays as sent', async () => {
    // "a.b" is one key of the event; joined with dots it would read as a, then b.
    const errors = await fieldErrors(LOG_EVENT, { event: { message: 'm', 'a.b': 'x' } }, 'logEvent');
    expect(errors).toEqual([expect.objectContaining({ code: 'UnexpectedProperty', source: '/event/a.b', path: null })]);
  });
});

describe('graphqlArgumentPath', () => {
  test.each([
    ['log', '/event/tenant_id', 'event.tenantId'],
    ['log', '/event', 'event'],
    ['log', '/event/no_such_field', null],
    ['log', '/verbose', null],
    ['log', '/prev_root', null],
    ['log', '', null],
    ['logBulk', '/events/2/event/old', 'events.2.old'],
    ['logBulkAsync', '/events/0/event/timestamp', 'events.0.timestamp'],
    ['logBulk', '/events/3', 'events.3'],
    ['logBulk', '/events', 'events'],
    ['logBulk', '/events/0/signature', null],
    ['logBulk', '/events/01/event/actor', null],
    ['logEvent', '/event/a~1b/c', 'event.a/b.c'],
    ['logEvent', '/event/', null],
    ['logStream', '', 'data'],
    ['logStream', '/logs/1/data/date', 'data.logs.1.data.date'],
    ['search', '/order_by', 'orderBy'],
    ['search', '/return_context', 'returnContext'],
    ['search', '/search_restriction/tenant_id/0', 'searchRestriction'],
    ['search', '/limit', null],
    ['search', '/verbose', null],
    ['search', '/max_results/0', null],
    ['results', '/id', 'resultId'],
    ['results', '/assert_search_restriction', 'assertSearchRestriction'],
    ['results', '/offset', null],
    ['results', '/limit', null],
    ['export', '/order_by', 'orderBy'],
    ['root', '/tree_size', 'treeSize'],
    ['downloadResults', '/result_id', 'resultId'],
    ['pollResult', '/events/0/event/actor', null],
    ['auditEvents', '/query', null],
    [undefined, '/event/message', null],
    ['log', 'event/message', null],
  ])('%s %j -> %j', (field, source, path) => {
    expect(graphqlArgumentPath(field, source)).toBe(path);
  });
});
