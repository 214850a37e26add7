// relay-compiler against the printed schema: the example in examples/relay (a @refetchable
// fragment on Query with @connection on auditEvents, and a @refetchable fragment on AuditEvent,
// which needs Query.node) compiles, and the same fragment on search
// (a union-typed field) is refused. Each run compiles a copy in a temp dir, so the repo holds no
// generated artifacts.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const example = fileURLToPath(new URL('../../examples/relay/', import.meta.url));
const compiler = fileURLToPath(new URL('../../node_modules/.bin/relay-compiler', import.meta.url));

let work: string;

/** A copy of the example whose config names the schema by absolute path, as the original resolves it. */
function copyExample(): void {
  cpSync(join(example, 'src'), join(work, 'src'), { recursive: true, filter: (path) => !path.includes('__generated__') });
  const config = JSON.parse(readFileSync(join(example, 'relay.config.json'), 'utf8')) as { schema: string };
  writeFileSync(join(work, 'relay.config.json'), JSON.stringify({ ...config, schema: resolve(example, config.schema) }));
}

async function compile(): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(compiler, [], { cwd: work });
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const failed = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'relay-example-'));
  copyExample();
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

test('the example compiles: @connection and @refetchable on Query.auditEvents', async () => {
  const result = await compile();
  expect(result.output).toContain('Compilation completed');
  expect(result.ok).toBe(true);
  const generated = join(work, 'src', '__generated__');
  for (const artifact of ['AuditEventList_query', 'AuditEventListQuery', 'AuditEventListPaginationQuery']) {
    expect(existsSync(join(generated, `${artifact}.graphql.ts`))).toBe(true);
  }
  // The refetch query Relay generated pages auditEvents with the connection's cursor arguments.
  const pagination = readFileSync(join(generated, 'AuditEventListPaginationQuery.graphql.ts'), 'utf8');
  expect(pagination).toContain('auditEvents(query: $query, first: $count, after: $cursor)');
  expect(pagination).toMatch(/pageInfo \{\\n\s*endCursor\\n\s*hasNextPage/);
  expect(readFileSync(join(generated, 'AuditEventList_query.graphql.ts'), 'utf8')).toContain('"__AuditEventList_auditEvents_connection"');
});

test('@refetchable on an AuditEvent fragment compiles to a refetch through Query.node(id:)', async () => {
  const result = await compile();
  expect(result.ok).toBe(true);
  const generated = join(work, 'src', '__generated__');
  expect(existsSync(join(generated, 'AuditEventDetails_event.graphql.ts'))).toBe(true);
  const refetch = readFileSync(join(generated, 'AuditEventDetailsRefetchQuery.graphql.ts'), 'utf8');
  expect(refetch).toContain('query AuditEventDetailsRefetchQuery(\\n  $id: ID!\\n) {\\n  node(id: $id) {');
  // The list spreads the event's fragment, so a refetched event updates the same store record.
  expect(readFileSync(join(generated, 'AuditEventList_query.graphql.ts'), 'utf8')).toContain('"AuditEventDetails_event"');
});

test('the same fragment with @connection on search is refused', async () => {
  const file = join(work, 'src', 'AuditEventList.ts');
  const source = readFileSync(file, 'utf8');
  const onSearch = source.replace(
    /auditEvents\(query: \$query, first: \$count, after: \$cursor\) @connection\(key: "AuditEventList_auditEvents"\) \{/,
    'search(query: $query, first: $count, after: $cursor) @connection(key: "AuditEventList_search") { ... on AuditEventConnection {',
  );
  expect(onSearch).not.toBe(source);
  // Close the inline fragment opened above: it ends where the connection's selection ends.
  writeFileSync(file, onSearch.replace(/(\n {6}\}\n {4}\}\n {2}\}\n`;)/, '\n      }\n    }\n    }\n  }\n`;'));
  const result = await compile();
  expect(result.ok).toBe(false);
  expect(result.output).toContain("@connection used on invalid field 'search'");
});
