// v1/log_stream with Auth0 log-stream payloads over real HTTP: mapping onto the standard schema,
// one batch per request, validation pointers, truncation, and the custom-schema refusal.
import { canonicalJson, hashEnvelope } from '../../src/merkle/index.js';
import { auth0Status, TRUNCATION_MARK, truncate } from '../../src/local-audit/routes/log-stream.js';
import { startTestService, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

// Shaped like what Auth0's log streams (custom webhook) deliver.
const AUTH0_PAYLOAD = {
  logs: [
    {
      log_id: '90020240329172650193000000000000001111111111111111111111',
      data: {
        date: '2024-03-29T17:26:50.193Z',
        type: 's',
        description: 'Successful login',
        connection: 'Username-Password-Authentication',
        connection_id: 'con_Ab12Cd34Ef56Gh78',
        client_id: 'aBcDeFgHiJkLmNoPqRsTuVwXyZ012345',
        client_name: 'Acme Dashboard',
        ip: '203.0.113.7',
        user_agent: 'Chrome 123.0.0 / Mac OS X 10.15.7',
        details: { prompts: [{ name: 'login', flow: 'universal-login', elapsedTime: 1234 }], initiatedAt: 1711733208000 },
        hostname: 'acme.us.auth0.com',
        user_id: 'auth0|65f0c0ffee0123456789abcd',
        user_name: 'alice@example.com',
        strategy: 'auth0',
        strategy_type: 'database',
        tenant_name: 'acme',
      },
    },
    {
      log_id: '90020240329172711000000000000000002222222222222222222222',
      data: {
        date: '2024-03-29T17:27:11.000Z',
        type: 'fp',
        description: 'Wrong email or password.',
        client_id: 'aBcDeFgHiJkLmNoPqRsTuVwXyZ012345',
        ip: '198.51.100.23',
        user_agent: 'Firefox 124.0 / Windows 10',
        user_id: 'auth0|65f0c0ffee0123456789beef',
        details: { error: { message: 'Wrong email or password.' } },
      },
    },
    {
      log_id: '90020240329172800000000000000000003333333333333333333333',
      data: {
        date: '2024-03-29T17:28:00+01:00',
        type: 'sys_os_update_start',
        client_id: 'system',
        ip: '192.0.2.1',
        user_agent: 'n/a',
        user_id: '',
      },
    },
  ],
};

describe('v1/log_stream (standard schema)', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => {
    await svc.destroy();
  });

  test('each Auth0 log becomes one mapped event, appended as one batch; the result is {}', async () => {
    const before = svc.log.size;
    const r = await svc.post<Json>('v1/log_stream', AUTH0_PAYLOAD);
    expect(r.http).toBe(200);
    expect(r.status).toBe('Success');
    expect(r.result).toEqual({});
    expect(svc.log.size).toBe(before + 3);
    const stored = [0, 1, 2].map((i) => svc.log.events.get(before + i)!);

    expect(stored[0]!.envelope.event).toEqual({
      message: 'Successful login',
      actor: 'alice@example.com',
      action: 's',
      target: 'Acme Dashboard',
      status: 'success',
      source: '203.0.113.7',
      timestamp: '2024-03-29T17:26:50.193000Z',
      new: canonicalJson(AUTH0_PAYLOAD.logs[0]),
    });
    expect(stored[1]!.envelope.event).toEqual({
      message: 'Wrong email or password.',
      actor: 'auth0|65f0c0ffee0123456789beef',
      action: 'fp',
      target: 'aBcDeFgHiJkLmNoPqRsTuVwXyZ012345',
      status: 'failure',
      source: '198.51.100.23',
      timestamp: '2024-03-29T17:27:11.000000Z',
      new: canonicalJson(AUTH0_PAYLOAD.logs[1]),
    });
    // No description: the type is the message; sys_* is not a success; empty user_id is absent.
    const third = stored[2]!.envelope.event;
    expect(third).toMatchObject({ message: 'sys_os_update_start', action: 'sys_os_update_start', status: 'sys_os_update_start', timestamp: '2024-03-29T16:28:00.000000Z' });
    expect(third).not.toHaveProperty('actor');
    // The raw record is kept whole and each stored hash is its envelope's.
    expect(JSON.parse(third.new as string)).toEqual(AUTH0_PAYLOAD.logs[2]);
    for (const s of stored) expect(hashEnvelope(s.envelope)).toBe(s.hash);
    // Logged events are searchable like any other.
    const search = await svc.post<Json>('v1/search', { query: 'status:failure action:fp' });
    expect(search.result.count).toBe(1);
  });

  test('too-long mapped values are cut to the schema sizes; the raw record keeps them', async () => {
    const longName = 'x'.repeat(200) + '@example.com';
    const r = await svc.post<Json>('v1/log_stream', { logs: [{ log_id: 'long', data: { type: 'ss', user_name: longName, description: 'Signup' } }] });
    expect(r.status).toBe('Success');
    const event = svc.log.events.get(svc.log.size - 1)!.envelope.event;
    expect(event.actor).toBe(longName.slice(0, 128));
    expect(JSON.parse(event.new as string).data.user_name).toBe(longName);
  });

  test('a raw record over 32766 characters is truncated with a mark', async () => {
    const huge = { log_id: 'huge', data: { type: 'f', description: 'Failed login', details: { blob: 'y'.repeat(40_000) } } };
    const r = await svc.post<Json>('v1/log_stream', { logs: [huge] });
    expect(r.status).toBe('Success');
    const event = svc.log.events.get(svc.log.size - 1)!.envelope.event;
    expect((event.new as string).length).toBe(32766);
    expect((event.new as string).endsWith(TRUNCATION_MARK)).toBe(true);
    expect(event.new).toBe(canonicalJson(huge).slice(0, 32766 - TRUNCATION_MARK.length) + TRUNCATION_MARK);
    expect(event.status).toBe('failure');
  });

  test('unknown top-level keys are accepted; an empty logs array appends nothing', async () => {
    const before = svc.log.size;
    const r = await svc.post<Json>('v1/log_stream', { logs: [], vendor: 'auth0' });
    expect(r.status).toBe('Success');
    expect(svc.log.size).toBe(before);
  });

  test.each([
    [{}, 'FieldRequired', '/logs'],
    [{ logs: 'nope' }, 'BadFormat', '/logs'],
    [{ logs: [42] }, 'BadFormat', '/logs/0'],
    [{ logs: [{ log_id: 'a' }] }, 'FieldRequired', '/logs/0/data'],
    [{ logs: [{ data: [] }] }, 'BadFormat', '/logs/0/data'],
    [{ logs: [{ data: { ip: '1.2.3.4' } }] }, 'FieldRequired', '/logs/0/data/type'],
    [{ logs: [{ data: { type: 's', date: 'last tuesday' } }] }, 'BadFormat', '/logs/0/data/date'],
    // What Date.parse reads as dates (2001-01-01, 2001-03-07, 2001-12-01) but no log stream sends.
    [{ logs: [{ data: { type: 's', date: '1' } }] }, 'BadFormat', '/logs/0/data/date'],
    [{ logs: [{ data: { type: 's', date: 'March 7' } }] }, 'BadFormat', '/logs/0/data/date'],
    [{ logs: [{ data: { type: 's', date: '12' } }] }, 'BadFormat', '/logs/0/data/date'],
    [{ logs: [{ data: { type: 's', date: 'Fri, 29 Mar 2024 17:26:50 GMT' } }] }, 'BadFormat', '/logs/0/data/date'],
  ])('%j → ValidationError %s at %s', async (body, code, source) => {
    const r = await svc.post<Json>('v1/log_stream', body);
    expect(r.http).toBe(400);
    expect(r.status).toBe('ValidationError');
    expect(r.result.errors).toEqual([expect.objectContaining({ code, source })]);
  });

  test('an ISO 8601 date without an offset is read as UTC; the refused loose dates append nothing', async () => {
    const before = svc.log.size;
    for (const date of ['1', 'March 7']) {
      expect((await svc.post<Json>('v1/log_stream', { logs: [{ log_id: 'loose', data: { type: 's', date } }] })).status).toBe('ValidationError');
    }
    expect(svc.log.size).toBe(before);
    const r = await svc.post<Json>('v1/log_stream', { logs: [{ log_id: 'naive', data: { type: 's', description: 'naive date', date: '2024-03-29T17:26:50.193' } }] });
    expect(r.status).toBe('Success');
    const found = await svc.post<Json>('v1/search', { query: 'message:"naive date"' });
    expect(found.result.events.map((e: Json) => e.envelope.event.timestamp)).toEqual(['2024-03-29T17:26:50.193000Z']);
  });

  test('one bad log rejects the whole batch: nothing is appended', async () => {
    const before = svc.log.size;
    const r = await svc.post<Json>('v1/log_stream', { logs: [AUTH0_PAYLOAD.logs[0], { log_id: 'bad', data: { type: 's', date: 'soon' } }] });
    expect(r.result.errors).toEqual([expect.objectContaining({ source: '/logs/1/data/date' })]);
    expect(svc.log.size).toBe(before);
  });

  test('the endpoint needs the token', async () => {
    expect((await svc.post('v1/log_stream', AUTH0_PAYLOAD, 'wrong')).status).toBe('Unauthorized');
  });
});

describe('v1/log_stream with a custom schema', () => {
  test('answers a ValidationError saying the mapping needs the standard schema', async () => {
    const svc = await startTestService({ schema: { fields: [{ id: 'message', type: 'text', required: true }, { id: 'user', type: 'string', size: 64 }] } });
    try {
      const r = await svc.post<Json>('v1/log_stream', AUTH0_PAYLOAD);
      expect(r.http).toBe(400);
      expect(r.status).toBe('ValidationError');
      expect(r.summary).toMatch(/standard audit schema/);
      expect(svc.log.size).toBe(0);
    } finally {
      await svc.destroy();
    }
  });
});

describe('mapping helpers', () => {
  test.each([
    ['s', 'success'],
    ['sapi', 'success'],
    ['slo', 'success'],
    ['f', 'failure'],
    ['fu', 'failure'],
    ['fapi', 'failure'],
    ['sys_os_update_end', 'sys_os_update_end'],
    ['w', 'w'],
    ['gd_auth_succeed', 'gd_auth_succeed'],
  ])('auth0Status(%s) = %s', (type, status) => {
    expect(auth0Status(type)).toBe(status);
  });

  test('truncate never splits a surrogate pair', () => {
    expect(truncate('ab🎉cd', 3)).toBe('ab');
    expect(truncate('ab🎉cd', 4)).toBe('ab🎉');
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcdef', 5, '…')).toBe('abcd…');
  });
});
