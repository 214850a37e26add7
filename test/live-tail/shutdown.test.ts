// Graceful shutdown ends open live tails at once instead of holding the drain to its bound. The
// bound is long (30 s) and "at once" generous (10 s): a tail that held the drain would take the
// whole 30 s, while a busy machine can take several seconds to close the rest of the gateway.
import { createClient } from 'graphql-sse';
import { startTestGateway } from '../support/gateway.js';
import { startSecureGateway } from '../security/support.js';

const DRAIN_MS = 30_000;
const PROMPT_MS = 10_000;

test('close() ends an open SSE live tail promptly and the client sees it complete', async () => {
  const gateway = await startTestGateway({ config: { liveTailIntervalMs: 50 } });
  let connected!: () => void;
  const open = new Promise<void>((resolve) => (connected = resolve));
  const client = createClient({ url: gateway.url, retryAttempts: 0, on: { connected: () => connected() } });
  let completed = false;
  const ended = new Promise<void>((resolve) =>
    client.subscribe({ query: 'subscription { auditEvents { cursor } }' }, { next: () => {}, error: () => resolve(), complete: () => ((completed = true), resolve()) }),
  );
  // The stream is open (its answer's head arrived) before the gateway is closed, however busy the machine.
  await open;
  const started = Date.now();
  await gateway.running.close({ drainMs: DRAIN_MS });
  await ended;
  expect(Date.now() - started).toBeLessThan(PROMPT_MS);
  expect(completed).toBe(true);
  client.dispose();
  await gateway.close();
});

test('in pass-through mode too: the live tail of a caller’s own token ends at close()', async () => {
  const gw = await startSecureGateway({ kind: 'passthrough' }, { liveTailIntervalMs: 50 });
  let connected!: () => void;
  const open = new Promise<void>((resolve) => (connected = resolve));
  const client = createClient({ url: gw.url, retryAttempts: 0, headers: { authorization: `Bearer ${gw.running.local!.token}` }, on: { connected: () => connected() } });
  let completed = false;
  const ended = new Promise<void>((resolve) =>
    client.subscribe({ query: 'subscription { auditEvents { cursor } }' }, { next: () => {}, error: () => resolve(), complete: () => ((completed = true), resolve()) }),
  );
  // The stream is open (its answer's head arrived) before the gateway is closed, however busy the machine.
  await open;
  const started = Date.now();
  await gw.running.close({ drainMs: DRAIN_MS });
  await ended;
  expect(Date.now() - started).toBeLessThan(PROMPT_MS);
  expect(completed).toBe(true);
  client.dispose();
  await gw.close();
});
