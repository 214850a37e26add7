// LIVE_TAIL_INTERVAL_MS: a bounded integer with a default; a bad value is refused with its name.
import { loadConfig } from '../../src/config.js';

const base = { AUDIT_TOKEN: 'x', AUDIT_BASE_URL: 'http://127.0.0.1:1' };

test('defaults to 1000 ms and takes a value in 100..60000', () => {
  expect(loadConfig(base).liveTailIntervalMs).toBe(1000);
  expect(loadConfig({ ...base, LIVE_TAIL_INTERVAL_MS: '250' }).liveTailIntervalMs).toBe(250);
});

test.each(['50', '60001', 'soon', '1.5'])('refuses LIVE_TAIL_INTERVAL_MS=%s with a clear message', (value) => {
  expect(() => loadConfig({ ...base, LIVE_TAIL_INTERVAL_MS: value })).toThrow(/LIVE_TAIL_INTERVAL_MS must be an integer between 100 and 60000/);
});
