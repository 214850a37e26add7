// examples/frontend-client.ts (plain fetch + the generated typed documents) against a running
// gateway: log, page through a search (search, then results), roots, typed and request errors.
import {
  createExecutor,
  formatEvent,
  GatewayError,
  GraphQLRequestError,
  latestRoot,
  logEvent,
  searchAll,
  type Execute,
} from '../../examples/frontend-client.js';
import { SearchEventsDocument } from '../../examples/generated/graphql.js';
import { startTestGateway, type TestGateway } from './support.js';

let gw: TestGateway;
let execute: Execute;
/** Operation names of the requests the executor sent, in order. */
const sent: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway('frontend-client-');
  const countingFetch: typeof fetch = async (input, init) => {
    const body = JSON.parse(String(init?.body)) as { query: string };
    sent.push(/^(?:query|mutation) (\w+)/m.exec(body.query)?.[1] ?? '?');
    return fetch(input, init);
  };
  execute = createExecutor(gw.url, { fetch: countingFetch });
});

afterAll(async () => {
  await gw?.close();
});

test('logs, pages through the search with results(), and reads the root', async () => {
  expect(await latestRoot(execute)).toBeUndefined(); // nothing published yet: TreeNotFoundError

  const hashes: string[] = [];
  for (let i = 0; i < 12; i++) {
    const logged = await logEvent(execute, { actor: 'fc', action: 'save', target: `doc-${i}`, message: `frontend client ${i}`, old: { v: i }, new: { v: i + 1 } });
    expect(logged.verification).toMatchObject({ hash: 'PASS', membership: 'PASS', signature: 'NONE', failures: [] });
    hashes.push(logged.hash);
  }
  gw.local.publishNow();

  sent.length = 0;
  const events = [];
  for await (const event of searchAll(execute, { query: 'actor:fc', order: 'ASC' }, 5)) events.push(event);
  // One search, then the rest of the result set through results(): 5 + 5 + 2.
  expect(sent).toEqual(['SearchEvents', 'ResultsPage', 'ResultsPage']);
  expect(events.map((e) => e.hash)).toEqual(hashes);
  expect(events.map((e) => e.new)).toEqual(hashes.map((_, i) => JSON.stringify({ v: i + 1 })));
  for (const event of events) {
    expect(event.verification).toMatchObject({ hash: 'PASS', membership: 'PASS', consistency: 'PASS', signature: 'NONE', verdict: 'VERIFIED', verified: true, failures: [] });
    expect(formatEvent(event)).toMatch(/fc save: frontend client \d+ \[hash=PASS membership=PASS consistency=PASS signature=NONE\] verified$/);
  }

  const root = await latestRoot(execute);
  expect(root).toMatchObject({ __typename: 'PublishedRoot', size: 12, consistency: 'PASS' });
});

test('a rejected event is a GatewayError naming the field', async () => {
  const err = await logEvent(execute, { message: 'too long an action', action: 'x'.repeat(40) }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GatewayError);
  expect((err as GatewayError).typename).toBe('UpstreamValidationError');
  expect((err as GatewayError).message).toMatch(/action/);
});

test('a bad cursor is a GatewayError, a bad request a GraphQLRequestError', async () => {
  const page = await execute(SearchEventsDocument, { query: 'actor:fc', after: 'not-a-cursor' });
  expect(page.search).toMatchObject({ __typename: 'InvalidCursorError' });

  const err = await execute(SearchEventsDocument, { query: 42 as unknown as string }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GraphQLRequestError);
  expect((err as GraphQLRequestError).errors[0]?.message).toMatch(/\$query/);
});
