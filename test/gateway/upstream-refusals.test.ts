// Statuses of the audit service that the client has no class of its own for (NoCredit,
// MissingConfigID, ProviderError…) are typed errors on every field that calls it, never a masked
// "Unexpected error.": UpstreamRefusedError with the service's status and summary. A 5xx of such a
// status on a write is WriteOutcomeUnknownError, as a 500 is. The refusals come from the lying
// upstream, a real proxy in front of the real local service.
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startLyingUpstream, type LyingUpstream } from '../support/lying-upstream.js';

let up: LyingUpstream;
let gw: TestGateway;

beforeAll(async () => {
  // The gateway's remote upstream token is 'x' (see startTestGateway).
  up = await startLyingUpstream({ token: 'x' });
  gw = await startTestGateway({ remoteBaseUrl: up.url });
});
afterEach(() => up.honest());
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const REFUSED = `... on UpstreamRefusedError { status summary httpStatus requestId } ... on Error { message }`;

test.each([
  ['search', 'v1/search', `{ search(query: "actor:nobody") { __typename ${REFUSED} } }`],
  ['root', 'v1/root', `{ root { __typename ${REFUSED} } }`],
  ['log', 'v1/log', `mutation { log(event: { message: "m" }) { __typename ${REFUSED} } }`],
  ['logBulk', 'v2/log', `mutation { logBulk(events: [{ message: "m" }]) { __typename ${REFUSED} } }`],
])('%s: a NoCredit refusal is UpstreamRefusedError with the service status and summary', async (field, endpoint, query) => {
  up.refuse(endpoint, { http: 402, status: 'NoCredit', summary: 'Not enough credits' });
  const answer = await gw.graphql(query);
  expect(answer.status).toBe(200);
  expect(answer.body.errors).toBeUndefined();
  expect(answer.body.data[field]).toEqual({
    __typename: 'UpstreamRefusedError',
    status: 'NoCredit',
    summary: 'Not enough credits',
    message: 'Not enough credits',
    httpStatus: 402,
    requestId: expect.stringMatching(/^prq_/),
  });
});

test('auditEvents (Relay) names it in extensions.code: UPSTREAM_REFUSED', async () => {
  up.refuse('v1/search', { http: 400, status: 'MissingConfigID', summary: 'Token is not scoped to a config; pass config_id' });
  const answer = await gw.graphql(`{ auditEvents(query: "actor:nobody", first: 5) { edges { cursor } } }`);
  expect(answer.body.data).toEqual({ auditEvents: null });
  expect(answer.body.errors).toEqual([expect.objectContaining({ message: 'Token is not scoped to a config; pass config_id', extensions: { code: 'UPSTREAM_REFUSED' } })]);
});

test('a write refused with a 5xx of such a status may have been stored: WriteOutcomeUnknownError', async () => {
  // A lone log goes up as v1/log.
  up.refuse('v1/log', { http: 504, status: 'GatewayTimeout', summary: 'upstream timed out' });
  const answer = await gw.graphql(`mutation { log(event: { message: "m" }) { __typename ... on WriteOutcomeUnknownError { accepted message } } }`);
  expect(answer.body.data.log).toEqual({
    __typename: 'WriteOutcomeUnknownError',
    accepted: false,
    message: 'the audit service failed while storing (upstream timed out): the events may have been stored; search for the events before sending them again',
  });
});
