// A live tail over GraphQL over WebSocket whose JWT expires: the application learns it. Every
// operation still open on the socket gets one `error` message (UNAUTHENTICATED, as a tail over SSE
// ends), nothing after it, then the socket is closed (4403). With the real graphql-ws client the
// subscription's sink.error fires, and subscribing again with `after:` its last cursor (the client
// reconnecting with a fresh token from connectionParams) delivers every event logged meanwhile,
// each once. Real gateway with JWT authentication, embedded local service.
import { createClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { AuditClient } from '../../src/audit-client/index.js';
import type { Json } from '../support/gateway.js';
import { untilOpenLiveTails } from '../support/live-tail.js';
import { until, pause } from '../support/wait.js';
import { startSecureGateway, type SecureGateway } from '../security/support.js';

const HS_SECRET = 'an-hs256-secret-for-ws-expiry-tests-0123';
const TAIL = 'subscription ($q: String, $after: String) { auditEvents(query: $q, after: $after) { cursor verdictUpdate event { hash } } }';

/** A token for the tail that expires `seconds` from now (JWT expiry is in whole seconds). */
async function tokenFor(seconds: number): Promise<{ token: string; expiresAtMs: number }> {
  const exp = Math.floor(Date.now() / 1000) + seconds;
  const token = await new SignJWT({ scope: 'audit:search' }).setProtectedHeader({ alg: 'HS256' }).setSubject('ws-tail-svc').setExpirationTime(exp).sign(new TextEncoder().encode(HS_SECRET));
  return { token, expiresAtMs: exp * 1000 };
}

let gw: SecureGateway;
let logger: AuditClient;
beforeAll(async () => {
  gw = await startSecureGateway({ kind: 'keys', file: undefined, inline: JSON.stringify({ apiKeys: [], jwt: { hs256Secret: HS_SECRET } }) }, { liveTailIntervalMs: 50 });
  logger = new AuditClient({ baseUrl: gw.running.local!.url, token: gw.running.local!.token });
  // A fresh gateway's first live-tail poll can take seconds on a loaded machine (the service's
  // search workers start): one tail is run to its first push before the tokens start expiring.
  const { token } = await tokenFor(60);
  const client = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  let pushed = false;
  const stop = client.subscribe({ query: TAIL, variables: { q: 'actor:ws-warm-up' } }, { next: () => (pushed = true), error: () => {}, complete: () => {} });
  await untilOpenLiveTails(1);
  await logger.log({ event: { actor: 'ws-warm-up', message: 'warm-up' } });
  await until(() => pushed, 30_000);
  stop();
  await client.dispose();
  await untilOpenLiveTails(0);
}, 60_000);
afterAll(async () => {
  await logger.close();
  await gw.close();
});

const wsUrl = (): string => gw.url.replace(/^http/, 'ws');

/**
 * An application tailing `actor:<actor>` with the graphql-ws client as the README says: on its
 * sink's error it subscribes again, `resumeAfterMs` later (fetching a new token, say), with
 * `after:` the last cursor it received. Events are logged every 100 ms from before the first
 * token (valid 4 to 5 s) expires until well after the second subscription opened.
 */
async function expireAndResume(actor: string, resumeAfterMs: number): Promise<void> {
  let connects = 0;
  let firstExpiresAtMs = 0;
  const closes: number[] = [];
  const client = createClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    connectionParams: async () => {
      const { token, expiresAtMs } = await tokenFor(++connects === 1 ? 5 : 60);
      if (connects === 1) firstExpiresAtMs = expiresAtMs;
      return { authorization: `Bearer ${token}` };
    },
    on: { closed: (event) => closes.push((event as { code: number }).code) },
  });
  const received: string[][] = [[], []];
  const sinkErrors: Json[][] = [[], []];
  const completions = [0, 0];
  let lastCursor: string | undefined;
  let errorAt = 0;
  let resumedAt = 0;
  const stops: (() => void)[] = [];
  const subscribe = (n: 0 | 1, after: string | undefined): void => {
    stops[n] = client.subscribe<Json>(
      { query: TAIL, variables: { q: `actor:${actor}`, ...(after ? { after } : {}) } },
      {
        next: (r) => {
          if (r.errors) sinkErrors[n]!.push(r.errors);
          const push = r.data?.auditEvents;
          if (!push) return;
          lastCursor = push.cursor;
          if (!push.verdictUpdate) received[n]!.push(push.event.hash);
        },
        error: (e) => {
          sinkErrors[n]!.push(e as Json);
          if (n !== 0) return;
          errorAt = Date.now();
          const resume = (): void => {
            resumedAt = Date.now();
            subscribe(1, lastCursor);
          };
          if (resumeAfterMs === 0) resume();
          else setTimeout(resume, resumeAfterMs);
        },
        complete: () => completions[n]!++,
      },
    );
  };

  const logged: { hash: string; at: number }[] = [];
  let logging = true;
  const logEvery100ms = async (): Promise<void> => {
    for (let i = 0; logging; i++) {
      logged.push({ hash: (await logger.log({ event: { actor, message: `${actor} ${i}` } })).result.hash, at: Date.now() });
      await pause(100);
    }
  };
  let loggingDone: Promise<void> = Promise.resolve();
  try {
    await untilOpenLiveTails(0);
    subscribe(0, undefined);
    await untilOpenLiveTails(1);
    loggingDone = logEvery100ms();
    // Without a push before the expiry there is no cursor to resume from: a slow first poll (a
    // loaded machine) must not pass for a lost gap.
    await until(() => received[0]!.length > 0, firstExpiresAtMs - Date.now() - 500);

    // Not silence: the first subscription's sink fails, with the code a tail over SSE ends with.
    await until(() => sinkErrors[0]!.length > 0, firstExpiresAtMs - Date.now() + 5_000);
    expect(errorAt).toBeGreaterThanOrEqual(firstExpiresAtMs);
    expect(sinkErrors[0]).toEqual([[{ message: expect.stringContaining('credential has expired'), extensions: { code: 'UNAUTHENTICATED' } }]]);
    await until(() => resumedAt > 0);
    await untilOpenLiveTails(1);
    await pause(1_000);
    logging = false;
    await loggingDone;

    const all = logged.map((l) => l.hash);
    await until(() => received[0]!.length + received[1]!.length >= all.length, 10_000);
    await pause(300);
    // Every event once, in order: what the first subscription had not received, the second did.
    expect([...received[0]!, ...received[1]!]).toEqual(all);
    expect(received[0]!.length).toBeGreaterThan(0);
    // Events were logged while no subscription was open, and came all the same.
    expect(logged.some((l) => l.at > errorAt && l.at < resumedAt)).toBe(resumeAfterMs > 0);
    expect(received[1]!.length).toBeGreaterThan(0);
    expect(sinkErrors[1]).toEqual([]);
    expect(completions).toEqual([0, 0]);
    expect(closes[0]).toBe(4403);
    expect(connects).toBe(2);
    stops[1]!();
  } finally {
    logging = false;
    await loggingDone;
    await client.dispose();
  }
}

test('JWT expiry ends the live tail with UNAUTHENTICATED; resubscribing later with after: the last cursor delivers the gap once', async () => {
  await expireAndResume('ws-resume-later', 800);
}, 30_000);

test('resubscribing at once from the sink, while the expired socket closes, delivers every event once too', async () => {
  await expireAndResume('ws-resume-at-once', 0);
}, 30_000);

test('at expiry each open operation gets exactly one error, nothing follows it, then the socket closes with 4403', async () => {
  const { token, expiresAtMs } = await tokenFor(5);
  const ws = new WebSocket(wsUrl(), 'graphql-transport-ws');
  const messages: Json[] = [];
  const closed = new Promise<{ code: number; at: number }>((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })));
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise((resolve) => ws.once('open', resolve));
  await untilOpenLiveTails(0);
  ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await until(() => messages.some((m) => m.type === 'connection_ack'));
  for (const id of ['a', 'b']) ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: TAIL, variables: { q: `actor:ws-raw-${id}` } } }));
  await untilOpenLiveTails(2);
  // A push for each, so the expiry finds both streams running.
  await logger.log({ event: { actor: 'ws-raw-a', message: 'a' } });
  await logger.log({ event: { actor: 'ws-raw-b', message: 'b' } });
  await until(() => messages.filter((m) => m.type === 'next').length === 2, 10_000);

  const { code, at } = await closed;
  expect(code).toBe(4403);
  expect(at).toBeGreaterThanOrEqual(expiresAtMs);
  const unauthenticated = [{ message: expect.stringContaining('credential has expired'), extensions: { code: 'UNAUTHENTICATED' } }];
  // Per operation: its push, then its error, the last message it gets.
  for (const id of ['a', 'b']) {
    expect(messages.filter((m) => m.id === id).map((m) => m.type)).toEqual(['next', 'error']);
    expect(messages.find((m) => m.id === id && m.type === 'error').payload).toEqual(unauthenticated);
  }
  expect(messages.map((m) => m.type)).toEqual(['connection_ack', 'next', 'next', 'error', 'error']);
  await untilOpenLiveTails(0);
}, 30_000);
