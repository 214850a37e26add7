// The vendor's Node SDK (pangea-node-sdk) against the local service's async endpoints over real
// HTTP: logBulkAsync + pollResult, export + pollResult + downloadResults + downloadFile, and
// logStream. These calls never touch Arweave, so no stub is needed.
import { gunzipSync } from 'node:zlib';
import { Audit, AuditService, PangeaConfig, PangeaErrors, type PangeaResponse } from 'pangea-node-sdk';
import { hashEnvelope } from '../../src/merkle/index.js';
import { startTestService, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(async () => {
  await svc.destroy();
});

function sdk(): AuditService {
  return new AuditService(svc.token, new PangeaConfig({ baseUrlTemplate: svc.url, requestRetries: 0 }));
}

/** pollResult until it stops throwing AcceptedRequestException, as the SDK docs show. */
async function pollToSuccess(audit: AuditService, requestId: string): Promise<PangeaResponse<Json>> {
  for (let i = 0; i < 400; i++) {
    try {
      return await audit.pollResult<Json>(requestId);
    } catch (err) {
      if (!(err instanceof PangeaErrors.AcceptedRequestException)) throw err;
      // The SDK builds this exception from a response whose result it has already moved to
      // accepted_result, so the 202's result is read there.
      expect((err.pangeaResponse as { accepted_result?: Json }).accepted_result?.location).toBe(`${svc.url}/request/${requestId}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  throw new Error(`request ${requestId} did not finish`);
}

test('logBulkAsync answers Accepted, and pollResult yields the v2/log result', async () => {
  const audit = sdk();
  const events: Audit.Event[] = [
    { message: 'async one', actor: 'sdk', new: { nested: { b: 2, a: 1 } } },
    { message: 'async two', actor: 'sdk' },
  ];
  const accepted = await audit.logBulkAsync(events, { verbose: true });
  expect(accepted.status).toBe('Accepted');
  expect(accepted.request_id).toMatch(/^prq_/);
  expect(accepted.accepted_result).toMatchObject({ ttl_mins: 1440, retry_counter: 0, location: `${svc.url}/request/${accepted.request_id}` });

  const done = await pollToSuccess(audit, accepted.request_id);
  expect(done.success).toBe(true);
  expect(done.status).toBe('Success');
  const results = done.result.results as Json[];
  expect(results).toHaveLength(2);
  // The SDK stringified the object field canonically before sending; the stored envelope says so.
  expect(results[0]!.envelope.event.new).toEqual({ nested: { a: 1, b: 2 } }); // the SDK parses `new` back into an object
  const stored = svc.log.events.get(svc.log.size - 2)!;
  expect(stored.envelope.event.new).toBe('{"nested":{"a":1,"b":2}}');
  expect(results[0]!.hash).toBe(stored.hash);
  expect(hashEnvelope(stored.envelope)).toBe(stored.hash);
});

test("the SDK's own 202 loop (handleAsync) polls the 202's request_id to the final result", async () => {
  // A plain request.post follows 202s itself: it waits (1 s first) and polls GET /request/<id>.
  const body: Parameters<AuditService['request']['post']>[1] & Json = { events: [{ event: { message: 'followed by the SDK' } }] };
  const response = await sdk().request.post<Json>('v2/log_async', body);
  expect(response.status).toBe('Success');
  expect(response.result.results).toEqual([{ hash: svc.log.events.get(svc.log.size - 1)!.hash }]);
});

test('export, pollResult, downloadResults({request_id}) and downloadFile give a gzip file of the events', async () => {
  const audit = sdk();
  await audit.logBulk([{ message: 'for export 1' }, { message: 'for export 2' }]);
  const exported = await audit.export({ format: Audit.DownloadFormat.JSON, verbose: false });
  expect(exported.status).toBe('Accepted');
  const done = await pollToSuccess(audit, exported.request_id);
  expect(done.result).toEqual({ status: 'done', count: svc.log.size, format: 'json' });

  const dl = await audit.downloadResults({ request_id: exported.request_id });
  expect(dl.status).toBe('Success');
  const file = await audit.downloadFile(new URL(dl.result.dest_url));
  expect(file.contentType).toBe('application/octet-stream'); // the SDK's label for any non-array header
  expect(file.filename).toBe('audit_events.json.gz');
  const body = JSON.parse(gunzipSync(Buffer.from(file.file)).toString('utf8')) as Json;
  expect(body.count).toBe(svc.log.size);
  expect(body.events.map((e: Json) => e.envelope.event.message).slice(-2)).toEqual(['for export 1', 'for export 2']);
  for (const e of body.events as Json[]) expect(hashEnvelope(e.envelope)).toBe(e.hash);

  // A plain fetch saves the same gzip bytes.
  const plain = Buffer.from(await (await fetch(dl.result.dest_url)).arrayBuffer());
  expect(gunzipSync(plain).toString('utf8')).toBe(gunzipSync(Buffer.from(file.file)).toString('utf8'));
});

test('downloadResults rejects both ids client-side; an unknown export is NotFound', async () => {
  const audit = sdk();
  expect(() => audit.downloadResults({ request_id: 'a', result_id: 'b' })).toThrow(TypeError);
  await expect(audit.downloadResults({ request_id: 'prq_' + 'n'.repeat(32) })).rejects.toBeInstanceOf(PangeaErrors.NotFound);
});

test('logStream with an Auth0 payload succeeds with an empty result', async () => {
  const audit = sdk();
  const before = svc.log.size;
  const response = await audit.logStream({
    logs: [
      {
        log_id: 'some log id',
        data: {
          date: '2024-03-29T17:26:50.193Z',
          type: 'some_type',
          description: 'Create a log stream',
          client_id: 'test client ID',
          ip: '127.0.0.1',
          user_agent: 'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0',
          user_id: 'test user ID',
        },
      },
    ],
  });
  expect(response.status).toBe('Success');
  expect(response.result).toEqual({});
  expect(svc.log.size).toBe(before + 1);
  expect(svc.log.events.get(before)!.envelope.event).toMatchObject({ message: 'Create a log stream', action: 'some_type', actor: 'test user ID' });
});

test('pollResult of an unknown request is NotFound', async () => {
  await expect(sdk().pollResult('prq_' + 'u'.repeat(32))).rejects.toBeInstanceOf(PangeaErrors.NotFound);
});
