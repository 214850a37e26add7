// GraphiQL in a real headless Chromium (playwright-core): GET /graphql as a browser serves the
// GraphiQL page from the gateway itself (no CDN), a query pasted into the editor runs with the
// run button and with Ctrl+Enter, and the result pane shows the events logged first.
// Needs /usr/bin/chromium (Debian: apt-get install -y chromium); without it the test is skipped
// with a notice.
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createExecutor, logEvent } from '../../examples/frontend-client.js';
import { startTestGateway, type TestGateway } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`graphiql.test.ts: ${CHROMIUM} not found, skipping the GraphiQL browser test (install it with: apt-get install -y chromium)`);
const browserTest = hasChromium ? test : test.skip;

const MESSAGES = ['GraphiQL sees event 1', 'GraphiQL sees event 2', 'GraphiQL sees event 3'];

let gw: TestGateway | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  gw = await startTestGateway('frontend-graphiql-');
  const execute = createExecutor(gw.url);
  for (const message of MESSAGES) await logEvent(execute, { actor: 'browser', action: 'graphiql-check', message });
  gw.local.publishNow();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

/**
 * Replaces the query editor's text the way a paste does (typing would trigger auto-closing
 * brackets), then waits until GraphiQL has parsed it: the active tab is named after the
 * operation. Running before that sends the previous operation name ("Cannot infer operation").
 */
async function setQuery(page: Page, query: string, operationName: string): Promise<void> {
  const input = page.locator('.graphiql-query-editor textarea.inputarea').first();
  await page.locator('.graphiql-query-editor .monaco-editor').first().click();
  await page.keyboard.press('ControlOrMeta+A');
  await input.evaluate((el, text) => {
    const data = new DataTransfer();
    data.setData('text/plain', text);
    el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, query);
  await page.locator('.graphiql-tab-active', { hasText: operationName }).waitFor({ timeout: 10000 });
}

/** The visible text of an editor pane (Monaco renders non-breaking spaces). */
async function paneText(page: Page, selector: string): Promise<string> {
  return (await page.locator(`${selector} .view-lines`).first().innerText()).replace(/\u00a0/g, ' ');
}

/** Waits until the result pane shows text matching the pattern, and returns that text. */
async function waitForResult(page: Page, pattern: RegExp): Promise<string> {
  await page.waitForFunction(
    ([source, flags]) => new RegExp(source!, flags).test((document.querySelector('.graphiql-response .view-lines')?.textContent ?? '').replace(/\u00a0/g, ' ')),
    [pattern.source, pattern.flags],
    { timeout: 20000 },
  );
  return paneText(page, '.graphiql-response');
}

browserTest('GraphiQL runs a search typed into its editor and shows the logged events', async () => {
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1200 } });
  const origin = new URL(gw!.url).origin;
  const pageErrors: string[] = [];
  const foreignRequests: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:')) foreignRequests.push(url);
  });
  try {
    const response = await page.goto(gw!.url, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/text\/html/);
    expect(await page.title()).toBe('Audit Gateway');
    await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor({ state: 'visible', timeout: 20000 });

    const search = [
      'query GraphiQLCheck {',
      '  search(query: "action:graphiql-check", first: 3, order: ASC) {',
      '    ... on AuditEventConnection {',
      '      totalCount',
      '      edges { node { message verification { verified hash membership } } }',
      '    }',
      '    ... on Error { message }',
      '  }',
      '}',
    ].join('\n');
    await setQuery(page, search, 'GraphiQLCheck');
    expect(await paneText(page, '.graphiql-query-editor')).toContain('search(query: "action:graphiql-check", first: 3, order: ASC)');

    const answered = page.waitForResponse((r) => r.url().startsWith(gw!.url) && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('GraphiQLCheck'));
    await page.locator('button.graphiql-execute-button').click();
    expect((await answered).status()).toBe(200);
    const shown = await waitForResult(page, /"totalCount": 3/);
    for (const message of MESSAGES) expect(shown).toContain(`"message": "${message}"`);
    expect(shown.match(/"verified": true/g)).toHaveLength(3);
    expect(shown.match(/"membership": "PASS"/g)).toHaveLength(3);
    expect(shown).not.toContain('"errors"');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}graphiql.png` });

    // A second query, run with the keyboard shortcut.
    await setQuery(page, 'query LatestRoot { root { ... on PublishedRoot { size consistency } ... on Error { message } } }', 'LatestRoot');
    await page.keyboard.press('Control+Enter');
    const root = await waitForResult(page, /"size": 3/);
    expect(root).toContain('"consistency": "PASS"');

    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]); // GraphiQL's assets come from the gateway, not a CDN
  } finally {
    await page.close();
  }
});
