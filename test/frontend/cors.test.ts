// Cross-origin access in a real headless Chromium (playwright-core). A page served from another
// 127.0.0.1 port (another origin) runs a script that tries to log an event (a JSON POST, so the
// browser sends a preflight first) and to read the log (search), plus "simple" POSTs that need no
// preflight (text/plain, and a form-encoded body as an HTML form sends it). Without CORS_ORIGINS
// the page can neither write nor read; with CORS_ORIGINS naming the page's origin it can do both;
// a simple POST never writes (CSRF prevention). What was stored is checked from Node.
// Needs /usr/bin/chromium (Debian: apt-get install -y chromium); without it the test is skipped
// with a notice.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`cors.test.ts: ${CHROMIUM} not found, skipping the cross-origin browser tests (install it with: apt-get install -y chromium)`);
const browserTest = hasChromium ? test : test.skip;

/** The page's script: four attempts against the gateway named in the query string; each outcome lands in window.outcome. */
const PAGE = `<!doctype html>
<html><head><title>another origin</title></head><body>
<script>
const params = new URLSearchParams(location.search);
const gateway = params.get('gateway');
const marker = params.get('marker');
const LOG = 'mutation ($m: String!) { log(event: {message: $m, actor: "cross-origin"}) { __typename } }';
async function attempt(run) {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    return { ok: false, error: String(err) };
  }
}
window.outcome = (async () => ({
  jsonWrite: await attempt(async () => {
    const res = await fetch(gateway, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: LOG, variables: { m: marker + ' json' } }) });
    return { status: res.status, body: await res.text() };
  }),
  read: await attempt(async () => {
    const res = await fetch(gateway, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ search(query: "", first: 100) { ... on AuditEventConnection { edges { node { message } } } } }' }) });
    return { status: res.status, body: await res.text() };
  }),
  textWrite: await attempt(async () => {
    const res = await fetch(gateway, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: LOG, variables: { m: marker + ' text' } }) });
    return { type: res.type };
  }),
  formWrite: await attempt(async () => {
    const body = new URLSearchParams({ query: LOG, variables: JSON.stringify({ m: marker + ' form' }) });
    const res = await fetch(gateway, { method: 'POST', mode: 'no-cors', body });
    return { type: res.type };
  }),
}))();
</script></body></html>`;

interface Attempt {
  ok: boolean;
  value?: { status?: number; body?: string; type?: string };
  error?: string;
}
interface Outcome {
  jsonWrite: Attempt;
  read: Attempt;
  textWrite: Attempt;
  formWrite: Attempt;
}

let page: { server: Server; origin: string };
let browser: Browser | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  page = { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  if (page) await new Promise<void>((resolve) => page.server.close(() => resolve()));
});

/** Opens the page (another origin than the gateway's) and waits for its script's four attempts. */
async function runPage(gw: TestGateway, marker: string): Promise<Outcome> {
  expect(new URL(gw.url).origin).not.toBe(page.origin);
  const tab = await browser!.newPage();
  try {
    await tab.goto(`${page.origin}/?gateway=${encodeURIComponent(gw.url)}&marker=${encodeURIComponent(marker)}`);
    return (await tab.evaluate(() => (window as unknown as { outcome: Promise<unknown> }).outcome)) as Outcome;
  } finally {
    await tab.close();
  }
}

/** The messages stored with the marker, read from Node (same origin rules do not apply here). */
async function storedWith(gw: TestGateway, marker: string): Promise<string[]> {
  const data = await gw.runOk(`{ search(query: "", first: 100) { ... on AuditEventConnection { edges { node { message } } } ... on Error { message } } }`);
  return (data.search.edges as Array<{ node: { message: string } }>).map((e) => e.node.message).filter((m) => m.startsWith(marker)).sort();
}

browserTest('without CORS_ORIGINS a page of another origin can neither write nor read', async () => {
  const gw = await startTestGateway();
  try {
    await gw.runOk(`mutation { log(event: {message: "written from the same machine"}) { __typename } }`);
    gw.publish();
    const outcome = await runPage(gw, 'closed');
    // The preflight got no allow headers: the browser did not send the write and shows no answer.
    expect(outcome.jsonWrite).toEqual({ ok: false, error: expect.stringMatching(/Failed to fetch/) });
    expect(outcome.read).toEqual({ ok: false, error: expect.stringMatching(/Failed to fetch/) });
    // Simple requests are sent, but refused by CSRF prevention; their answers are opaque.
    expect(outcome.textWrite).toEqual({ ok: true, value: { type: 'opaque' } });
    expect(outcome.formWrite).toEqual({ ok: true, value: { type: 'opaque' } });
    expect(await storedWith(gw, 'closed')).toEqual([]);
  } finally {
    await gw.close();
  }
});

browserTest('with CORS_ORIGINS naming the page’s origin it can write and read, and simple POSTs still do not write', async () => {
  const gw = await startTestGateway({ config: { corsOrigins: [page.origin] } });
  try {
    await gw.runOk(`mutation { log(event: {message: "open: written from the same machine"}) { __typename } }`);
    gw.publish();
    const outcome = await runPage(gw, 'open');
    expect(outcome.jsonWrite.ok).toBe(true);
    expect(outcome.jsonWrite.value!.status).toBe(200);
    expect(JSON.parse(outcome.jsonWrite.value!.body!)).toEqual({ data: { log: { __typename: 'LogResult' } } });
    expect(outcome.read.ok).toBe(true);
    expect(outcome.read.value!.body).toContain('open: written from the same machine');
    expect(outcome.textWrite.ok).toBe(true);
    expect(outcome.formWrite.ok).toBe(true);
    expect(await storedWith(gw, 'open')).toEqual(['open json', 'open: written from the same machine']);
  } finally {
    await gw.close();
  }
});

browserTest('with CORS_ORIGINS naming another origin, this page still can neither write nor read', async () => {
  const gw = await startTestGateway({ config: { corsOrigins: ['http://localhost:5173'] } });
  try {
    const outcome = await runPage(gw, 'unlisted');
    expect(outcome.jsonWrite).toEqual({ ok: false, error: expect.stringMatching(/Failed to fetch/) });
    expect(outcome.read).toEqual({ ok: false, error: expect.stringMatching(/Failed to fetch/) });
    expect(await storedWith(gw, 'unlisted')).toEqual([]);
  } finally {
    await gw.close();
  }
});
