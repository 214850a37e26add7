// What the local audit service refuses in a request body before any handler sees it, and how it
// bounds its refusals, over real HTTP (and through the vendor's Node SDK where it is the client):
// - strings and member names that are not well-formed Unicode (lone UTF-16 surrogates), which the
//   SDK's RFC 8785 canonicaliser cannot write, and bytes that are not UTF-8;
// - nesting deeper than MAX_JSON_DEPTH, found before JSON.parse, with a pointer to where it is;
// - a ValidationError lists at most MAX_LISTED_ERRORS problems and says how many there were.
import { AuditService, PangeaConfig, PangeaErrors } from 'pangea-node-sdk';
import { MAX_LISTED_ERRORS } from '../../src/local-audit/core/errors.js';
import { MAX_JSON_DEPTH } from '../../src/local-audit/core/limits.js';
import { hashEnvelope } from '../../src/merkle/index.js';
import { installArweaveStub, type ArweaveStub } from '../support/arweave-stub.js';
import { startTestService, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

let svc: TestService;
let arweave: ArweaveStub;

beforeAll(async () => {
  arweave = installArweaveStub();
  svc = await startTestService();
});

afterAll(async () => {
  arweave.restore();
  await svc.destroy();
});

function sdk(): AuditService {
  return new AuditService(svc.token, new PangeaConfig({ baseUrlTemplate: svc.url, requestRetries: 0 }));
}

/** Posts raw bytes, answering the parsed envelope and the answer's size. */
async function postBytes(path: string, body: string | Buffer): Promise<Json> {
  const res = await fetch(`${svc.url}/${path}`, { method: 'POST', headers: { authorization: `Bearer ${svc.token}`, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await res.text();
  return { http: res.status, bytes: Buffer.byteLength(text), ...(JSON.parse(text) as Json) };
}

describe('strings that are not well-formed Unicode', () => {
  test.each([
    ['v1/log', '{"event":{"message":"x","actor":"\\udead"}}', '/event/actor', "'/event/actor' is not well-formed Unicode"],
    ['v1/log', '{"event":{"message":"a\\udc00b"},"verbose":true}', '/event/message', "'/event/message' is not well-formed Unicode"],
    ['v2/log', '{"events":[{"event":{"message":"ok"}},{"event":{"message":"x","actor":"\\ud800"}}]}', '/events/1/event/actor', "'/events/1/event/actor'"],
    ['v2/log', '{"events":[{"event":{"message":"x","\\udead":"k"}}]}', '/events/0/event', "a member name of '/events/0/event' is not well-formed Unicode"],
    ['v1/search', '{"query":"\\ud83d"}', '/query', "'/query' is not well-formed Unicode"],
    ['v1/log', '"\\udead"', '', 'the request body is not well-formed Unicode'],
  ])('%s %s is refused with a BadFormat at %j', async (path, body, source, detail) => {
    const before = svc.log.size;
    const r = await postBytes(path, body);
    expect([r.http, r.status]).toEqual([400, 'ValidationError']);
    expect(r.result.errors).toEqual([{ code: 'BadFormat', source, detail: expect.stringContaining(detail) }]);
    expect(r.summary).toContain('lone UTF-16 surrogate');
    expect(svc.log.size).toBe(before);
  });

  test('the first offending place in document order is named', async () => {
    const r = await postBytes('v2/log', '{"events":[{"event":{"message":"\\udc00","actor":"\\udead"}},{"event":{"message":"\\ud800"}}]}');
    expect(r.result.errors).toEqual([expect.objectContaining({ source: '/events/0/event/message' })]);
  });

  test('whole surrogate pairs, raw or escaped, are stored and hashed as sent', async () => {
    const r = await postBytes('v1/log', '{"event":{"message":"\\ud83d\\ude00 😀"},"verbose":true}');
    expect(r.status).toBe('Success');
    expect(r.result.envelope.event.message).toBe('😀 😀');
    expect(hashEnvelope(r.result.envelope)).toBe(r.result.hash);
  });

  test('the SDK gets a ValidationError for such an event, nothing is stored, and its searches keep working', async () => {
    const audit = sdk();
    await audit.log({ message: 'surrogate neighbour before' });
    const before = svc.log.size;
    await expect(audit.log({ message: 'y', actor: '\udead' }, { verbose: true })).rejects.toBeInstanceOf(PangeaErrors.ValidationError);
    // Also refused when the body is written by another client (JSON.stringify escapes it).
    expect((await svc.post('v2/log', { events: [{ event: { message: 'x', actor: '\udead' } }] })).status).toBe('ValidationError');
    expect(svc.log.size).toBe(before);
    await audit.log({ message: 'surrogate neighbour after' });
    const page = await audit.search('', { limit: 20 }, { verifyConsistency: true });
    expect(page.result.events.map((e) => e.envelope.event.message)).toContain('surrogate neighbour after');
    expect(page.result.events.every((e) => e.membership_verification === 'pass')).toBe(true);
  });
});

describe('bytes that are not UTF-8', () => {
  test.each([
    ['a Latin-1 é', Buffer.from([0xe9])],
    ['a truncated sequence', Buffer.from([0xe2, 0x82])],
    ['an encoded surrogate (CESU-8)', Buffer.from([0xed, 0xa0, 0x80])],
    ['an overlong "/"', Buffer.from([0xc0, 0xaf])],
  ])('%s in a string is refused like malformed JSON, and nothing is stored', async (_name, bytes) => {
    const before = svc.log.size;
    const body = Buffer.concat([Buffer.from('{"event":{"message":"caf'), bytes, Buffer.from('"},"verbose":true}')]);
    const r = await postBytes('v1/log', body);
    expect([r.http, r.status]).toEqual([400, 'ValidationError']);
    expect(r.result.errors).toEqual([{ code: 'BadFormat', source: '', detail: 'request body is not valid JSON: it is not valid UTF-8' }]);
    expect(svc.log.size).toBe(before);
  });

  test('malformed JSON is answered the same way', async () => {
    const r = await postBytes('v1/log', '{"event":');
    expect(r.result.errors).toEqual([{ code: 'BadFormat', source: '', detail: expect.stringMatching(/^request body is not valid JSON: /) }]);
  });

  test('valid UTF-8 is stored as sent', async () => {
    const r = await postBytes('v1/log', Buffer.from('{"event":{"message":"café ☃ 😀"},"verbose":true}', 'utf8'));
    expect(r.result.envelope.event.message).toBe('café ☃ 😀');
  });
});

describe('nesting depth', () => {
  const nested = (levels: number, open = '[', close = ']'): string => open.repeat(levels) + close.repeat(levels);

  test(`a body nesting ${MAX_JSON_DEPTH} levels passes the parser; one more is refused with a pointer`, async () => {
    // The body is level 0 and "event" level 1, so "old" may hold MAX_JSON_DEPTH - 2 arrays.
    const ok = await postBytes('v1/log', `{"event":{"message":"m","old":${nested(MAX_JSON_DEPTH - 2)}}}`);
    expect(ok.result.errors).toEqual([expect.objectContaining({ code: 'BadFormat', source: '/event/old', detail: "'old' must be of type string, not array" })]);
    const deep = await postBytes('v1/log', `{"event":{"message":"m","old":${nested(MAX_JSON_DEPTH - 1)}}}`);
    expect(deep.result.errors).toEqual([{ code: 'BadFormat', source: `/event/old${'/0'.repeat(MAX_JSON_DEPTH - 2)}`, detail: `the request body nests deeper than ${MAX_JSON_DEPTH} levels` }]);
  });

  test('the pointer skips brackets, quotes and escapes inside strings and counts array items', async () => {
    const inner = nested(MAX_JSON_DEPTH);
    const body = `{"event":{"message":"[[{{\\"]]","x":["a,[",{"]":1},{"n\\"a/m~e,{":"v","k":${inner}}]}}`;
    const r = await postBytes('v1/log', body);
    expect(r.result.errors).toEqual([expect.objectContaining({ source: `/event/x/2/k${'/0'.repeat(MAX_JSON_DEPTH - 4)}` })]);
  });

  test('millions of brackets are refused without parsing them first', async () => {
    const levels = 4_900_000;
    const started = performance.now();
    const r = await postBytes('v1/log', `{"event":${nested(levels)}}`);
    const ms = performance.now() - started;
    expect(r.result.errors).toEqual([expect.objectContaining({ detail: `the request body nests deeper than ${MAX_JSON_DEPTH} levels` })]);
    // JSON.parse of this body first took about 8 s, holding every other request.
    expect(ms).toBeLessThan(2000);
  });
});

describe('the errors a ValidationError lists', () => {
  test(`a few problems are all listed, with a summary counting them`, async () => {
    const r = await postBytes('v1/log', JSON.stringify({ event: { message: 'x', a: 1, b: 2 } }));
    expect(r.summary).toBe('There were 2 errors validating the request');
    expect(r.result.errors.map((e: Json) => e.source)).toEqual(['/event/a', '/event/b']);
  });

  test(`${MAX_LISTED_ERRORS} problems are all listed`, async () => {
    const event = Object.fromEntries([['message', 'x'], ...Array.from({ length: MAX_LISTED_ERRORS }, (_, i) => [`k${i}`, 1])]);
    const r = await postBytes('v1/log', JSON.stringify({ event }));
    expect(r.summary).toBe(`There were ${MAX_LISTED_ERRORS} errors validating the request`);
    expect(r.result.errors).toHaveLength(MAX_LISTED_ERRORS);
  });

  test('1000 events with 330 unknown keys each: the first ones are listed, all are counted', async () => {
    const event = Object.fromEntries(Array.from({ length: 330 }, (_, i) => [`${i}`, 1]));
    const body = JSON.stringify({ events: Array.from({ length: 1000 }, () => ({ event })) });
    const r = await postBytes('v2/log', body);
    expect([r.http, r.status]).toEqual([400, 'ValidationError']);
    // Each event also lacks its required message: 1000 × 331 problems.
    expect(r.summary).toBe(`There were 331000 errors validating the request; the first ${MAX_LISTED_ERRORS} are listed`);
    expect(r.result.errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(r.result.errors[0]).toEqual({ code: 'FieldRequired', detail: "'message' is required", source: '/events/0/event/message' });
    expect(r.result.errors[1]).toEqual({ code: 'UnexpectedProperty', detail: "'0' is not a field of the audit schema", source: '/events/0/event/0' });
    expect(r.bytes).toBeLessThan(20_000);
  });

  test('unknown top-level keys and log-item keys are capped the same way', async () => {
    const keys = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`u${i}`, 1]));
    const top = await postBytes('v1/log', JSON.stringify({ event: { message: 'x' }, ...keys }));
    expect(top.summary).toBe(`There were 5000 errors validating the request; the first ${MAX_LISTED_ERRORS} are listed`);
    expect(top.result.errors).toHaveLength(MAX_LISTED_ERRORS);
    const items = await postBytes('v2/log', JSON.stringify({ events: [{ event: { message: 'x' }, ...keys }] }));
    expect(items.summary).toBe(`There were 5000 errors validating the request; the first ${MAX_LISTED_ERRORS} are listed`);
    expect(items.result.errors.at(-1)).toEqual(expect.objectContaining({ source: `/events/0/u${MAX_LISTED_ERRORS - 1}` }));
  });
});
