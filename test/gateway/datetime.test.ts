// The DateTime scalar accepts only real instants: the calendar and the clock are checked, and an
// offset is required (the text is hashed as written, so a naive time would be ambiguous forever).
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const LOG = `mutation L($t: DateTime!) { log(event: { message: "dated", timestamp: $t }, options: { verbose: true }) {
  __typename ... on LogResult { envelope } ... on Error { message } } }`;

describe('DateTime', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  test.each([
    '2024-13-45T99:00:00Z',
    '2024-02-30T00:00:00Z',
    '2023-02-29T10:00:00Z',
    '2024-02-30',
    '2024-05-01T10:00:60Z',
    '2024-05-01T10:00:00',
    '2024-05-01 10:00:00Z',
    '2024-05-01T10:00:00+24:00',
  ])('refuses %s as a variable and as a literal', async (text) => {
    const asVariable = await gw.graphql(LOG, { t: text });
    expect(asVariable.body.data).toBeUndefined();
    expect(asVariable.body.errors[0].message).toMatch(/DateTime must be a real RFC 3339 date-time/);

    const asLiteral = await gw.graphql(`mutation { log(event: { message: "dated", timestamp: ${JSON.stringify(text)} }) { __typename } }`);
    expect(asLiteral.body.data).toBeUndefined();
    expect(asLiteral.body.errors[0].message).toMatch(/DateTime must be a real RFC 3339 date-time/);
  });

  test.each(['2024-02-29T23:59:59.999999Z', '2024-07-25T00:51:46.340938+02:00', '0001-01-01t00:00:00z'])('accepts %s and keeps its text', async (text) => {
    const r: Json = (await gw.runOk(LOG, { t: text })).log;
    expect(r.__typename).toBe('LogResult');
    expect(r.envelope.event.timestamp).toBe(text);
  });
});
