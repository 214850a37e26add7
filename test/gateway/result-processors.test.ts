// How the gateway answers each Accept header, with graphql-yoga's result-processor choice kept per
// distinct header (patches/graphql-yoga+5.24.1.patch, applied by `npm ci` through the postinstall
// script): every answer below is what yoga 5.24.1 gave unpatched, recorded against this gateway,
// and each request is sent twice (the second meets the kept choice), queries and subscriptions
// interleaved so that a choice kept for one kind never answers the other.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const QUERY = '{ __typename }';
const SUBSCRIPTION = 'subscription { auditEvents(query: "nothing-matches-this") { __typename } }';
const ALL = 'text/event-stream; charset=utf-8, multipart/mixed; charset=utf-8, application/graphql-response+json; charset=utf-8, application/json';

type Kind = 'query' | 'subscription';
/** [kind, Accept, status, content-type, the 406's accept header] */
type Case = [Kind, string | null, number, string | null, string | null];

const CASES: Case[] = [
  ['query', null, 200, 'application/json; charset=utf-8', null],
  ['query', '*/*', 200, 'application/json; charset=utf-8', null],
  ['query', 'application/json', 200, 'application/json; charset=utf-8', null],
  ['query', 'application/graphql-response+json', 200, 'application/graphql-response+json; charset=utf-8', null],
  ['query', 'application/graphql-response+json, application/json;q=0.9', 200, 'application/graphql-response+json; charset=utf-8', null],
  ['query', 'application/json, application/graphql-response+json', 200, 'application/json; charset=utf-8', null],
  ['query', 'text/event-stream', 200, 'text/event-stream', null],
  ['query', 'multipart/mixed', 200, 'multipart/mixed; boundary="-"', null],
  ['query', 'multipart/mixed, application/json', 200, 'application/json; charset=utf-8', null],
  ['query', 'text/event-stream, application/json', 200, 'application/json; charset=utf-8', null],
  ['query', 'text/*', 200, 'text/event-stream', null],
  ['query', 'application/xml', 406, null, ALL],
  ['query', 'application/json; charset=latin1', 406, null, ''],
  ['subscription', null, 200, 'text/event-stream', null],
  ['subscription', 'application/json', 406, null, 'text/event-stream'],
  ['subscription', 'application/json, application/graphql-response+json', 406, null, 'text/event-stream; charset=utf-8, text/event-stream'],
  ['subscription', 'multipart/mixed', 406, null, 'text/event-stream'],
  ['subscription', 'text/event-stream', 200, 'text/event-stream', null],
  ['subscription', 'application/json, text/event-stream', 200, 'text/event-stream', null],
  ['subscription', 'text/*', 200, 'text/event-stream', null],
];

describe('Accept negotiation (result processors chosen once per header)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  async function answer(kind: Kind, accept: string | null): Promise<{ status: number; type: string | null; accepts: string | null; body: string }> {
    const stop = new AbortController();
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(accept === null ? {} : { accept }) },
      body: JSON.stringify({ query: kind === 'query' ? QUERY : SUBSCRIPTION }),
      signal: stop.signal,
    });
    // A subscription's stream stays open: its headers are the answer.
    const body = kind === 'subscription' && res.status === 200 ? '' : await res.text();
    stop.abort();
    return { status: res.status, type: res.headers.get('content-type'), accepts: res.headers.get('accept'), body };
  }

  test('every header gets what yoga chose for it, the first time and again, whatever came in between', async () => {
    // A query, then a subscription, and so on: most headers are asked for both kinds, so in the
    // second round each kind meets headers whose choice was kept for the other kind too.
    const queries = CASES.filter((c) => c[0] === 'query');
    const subscriptions = CASES.filter((c) => c[0] === 'subscription');
    const interleaved = queries.flatMap((q, i) => (subscriptions[i] ? [q, subscriptions[i]] : [q]));
    expect(interleaved).toHaveLength(CASES.length);
    for (const round of [1, 2]) {
      for (const [kind, accept, status, type, accepts] of interleaved) {
        const got = await answer(kind, accept);
        expect({ round, kind, accept, status: got.status, type: got.type, accepts: got.accepts }).toEqual({ round, kind, accept, status, type, accepts });
        if (kind === 'query' && status === 200) expect(got.body).toContain('"__typename":"Query"');
      }
    }
  });

  test('a header too long to keep is still answered as yoga answers it, every time', async () => {
    const long = `application/json, ${Array.from({ length: 40 }, (_, i) => `application/x-unused-${i}`).join(', ')}`;
    expect(long.length).toBeGreaterThan(256);
    for (let i = 0; i < 3; i++) {
      const got = await answer('query', long);
      expect([got.status, got.type]).toEqual([200, 'application/json; charset=utf-8']);
    }
  });
});

describe('both builds of the patched plugin choose alike', () => {
  // The package exports neither file: they are read where npm put them.
  interface Build {
    useResultProcessors(): { onSubscribe?: unknown; onResultProcess?: unknown };
  }
  const pluginFile = (build: 'esm' | 'cjs') => createRequire(import.meta.url).resolve(`graphql-yoga/package.json`).replace(/package\.json$/, `${build}/plugins/use-result-processor.js`);
  let esmBuild: Build;
  let cjsBuild: Build;
  beforeAll(async () => {
    esmBuild = (await import(pluginFile('esm'))) as Build;
    cjsBuild = createRequire(import.meta.url)(pluginFile('cjs')) as Build;
  });

  function choose(plugin: ReturnType<Build['useResultProcessors']>, accept: string | null, subscription: boolean, iterable: boolean) {
    const request = new Request('http://localhost/graphql', { headers: accept === null ? {} : { accept } });
    if (subscription) (plugin.onSubscribe as (p: unknown) => void)({ args: { contextValue: { request } } });
    const acceptable: string[] = [];
    let chosen: string | undefined;
    const result = iterable ? { async *[Symbol.asyncIterator]() {} } : { data: {} };
    (plugin.onResultProcess as (p: unknown) => void)({ request, result, acceptableMediaTypes: acceptable, setResultProcessor: (_p: unknown, mediaType: string) => (chosen = mediaType) });
    return { acceptable, chosen };
  }

  test('npm ci patched both builds (the choice is kept per header)', () => {
    for (const build of ['esm', 'cjs'] as const) expect(readFileSync(pluginFile(build), 'utf8')).toMatch(/function chooseResultProcessor\(/);
  });

  test('the ESM and CommonJS hooks give the same media type and the same acceptable list, twice', () => {
    const esmPlugin = esmBuild.useResultProcessors();
    const cjsPlugin = cjsBuild.useResultProcessors();
    for (let round = 0; round < 2; round++) {
      for (const [kind, accept] of CASES) {
        for (const iterable of kind === 'subscription' ? [true] : [false, true]) {
          const fromEsm = choose(esmPlugin, accept, kind === 'subscription', iterable);
          const fromCjs = choose(cjsPlugin, accept, kind === 'subscription', iterable);
          expect(fromCjs).toEqual(fromEsm);
        }
      }
    }
  });
});
