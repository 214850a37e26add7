// Log grouping benchmark (`npm run bench:log-grouping`): what LOG_COALESCING does for plain `log`
// requests, like for like in one run. Two gateways as `npm start` runs them (each with its
// embedded service in a child process, temp DATA_DIRs), one with the default LOG_COALESCING=true,
// one with LOG_COALESCING=false, both sent the same GraphQL `log(event)` (no options: the event's
// hash only) with 16 requests in flight, measured in alternating slices (10 per side, ABBA order,
// so a drift of the machine falls on both alike), after untimed warm-up calls. Every answer must
// be a LogResult. Prints, per round and side: requests/s, p50/p99, and the CPU time per request of
// that side's gateway and service processes (/proc), and how many upstream calls carried the
// gateway's logs (its /metrics). BENCH_SECONDS (default 20) is each side's time per round.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { upstreamLogCalls } from './support/gateway-metrics.js';
import { processCpuMs, startGatewayProcess, type GatewayProcess } from './support/gateway-process.js';
import { GraphQLClient } from './support/graphql-client.js';
import { measurePaired } from './support/measure.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = 2;
const IN_FLIGHT = 16;
const LOG = `mutation Log($e: AuditEventInput!) { log(event: $e) { __typename ... on LogResult { hash } } }`;

interface Side {
  name: string;
  gateway: GatewayProcess;
  client: GraphQLClient;
  dir: string;
}

async function startSide(name: string, env: Record<string, string>): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-log-grouping-'));
  const gateway = await startGatewayProcess(join(dir, 'data'), { INTEGRITY_KEY_FILE: join(dir, 'integrity-key'), ...env });
  return { name, gateway, client: new GraphQLClient(gateway.url, IN_FLIGHT), dir };
}

async function main(): Promise<void> {
  const sides: Side[] = [];
  try {
    // One at a time, each kept as soon as it runs: if the second does not start, the first is
    // still stopped below instead of left running.
    sides.push(await startSide('LOG_COALESCING=true', {}));
    sides.push(await startSide('LOG_COALESCING=false', { LOG_COALESCING: 'false' }));
    console.log(`log grouping benchmark, ${new Date().toISOString()}: plain GraphQL log(event), ${IN_FLIGHT} in flight, ${SECONDS} s per side and round, alternating slices`);
    const call = (side: Side) => async (w: number, n: number) => {
      const answer = await side.client.run(LOG, { e: { message: `grouping ${side.name} ${w} ${n}`, actor: 'bench-grouping' } });
      if (answer.body?.data?.log?.__typename !== 'LogResult') throw new Error(`${side.name}: ${answer.text.slice(0, 300)}`);
    };
    const cpu = () => sides.flatMap((s) => [processCpuMs(s.gateway.pid), processCpuMs(s.gateway.servicePid)]);
    for (let round = 1; round <= ROUNDS; round++) {
      const callsBefore = await Promise.all(sides.map((s) => upstreamLogCalls(s.gateway.url)));
      const m = await measurePaired(call(sides[0]!), call(sides[1]!), { seconds: SECONDS, inFlight: IN_FLIGHT, warmupCalls: 40, sample: cpu });
      const callsAfter = await Promise.all(sides.map((s) => upstreamLogCalls(s.gateway.url)));
      [m.first, m.second].forEach((measured, i) => {
        const counted = m.counted[i]!;
        const perRequest = (ms: number) => ((ms * 1000) / measured.requests).toFixed(0);
        // Warm-up calls included: the upstream calls are counted over the whole round.
        const warmed = measured.requests + 40 * IN_FLIGHT;
        const upstream = callsAfter[i]!.v1 + callsAfter[i]!.v2 - callsBefore[i]!.v1 - callsBefore[i]!.v2;
        console.log(
          `  round ${round}, ${sides[i]!.name.padEnd(20)} ${measured.perSecond.toFixed(0).padStart(5)} req/s, p50 ${measured.p50.toFixed(2)} ms, p99 ${measured.p99.toFixed(2)} ms, ` +
            `gateway CPU ${perRequest(counted[2 * i]!)} µs/req, service CPU ${perRequest(counted[2 * i + 1]!)} µs/req, ` +
            `${(warmed / Math.max(1, upstream)).toFixed(1)} logs per upstream call`,
        );
      });
    }
  } finally {
    for (const side of sides) {
      await side.client.close();
      await side.gateway.stop();
      rmSync(side.dir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  console.error('log grouping bench failed:', err);
  process.exitCode = 1;
});
