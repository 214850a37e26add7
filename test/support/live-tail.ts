// Live-tail subscriptions of the gateways under test (in this process). A subscription's watcher
// starts from the moment the subscription opens, so an event logged before that is, rightly,
// never pushed to it: a test logs only once the subscription it made is open, however long the
// connection and the subscribe message took on a busy machine. Counts are exact: a test first
// waits for the subscriptions of earlier tests to be closed, then for its own to be open.
import { liveTailTotals } from '../../src/graphql/live-tail/hub.js';

/** Resolves once exactly `count` live-tail subscriptions are open in this process; fails after `ms`. */
export async function untilOpenLiveTails(count: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (liveTailTotals().subscribers !== count) {
    if (Date.now() > deadline) throw new Error(`${liveTailTotals().subscribers} live-tail subscriptions open after ${ms} ms, not ${count}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
