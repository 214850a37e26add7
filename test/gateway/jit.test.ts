// Compiled execution (src/gateway/jit.ts): repeated documents run compiled with the same answers
// as the standard executor, and documents whose literals depend on variables (a JSON-scalar
// literal holding $v) keep the standard executor, so $v is still read.
import { parse } from 'graphql';
import { hasVariableDependentLiteral } from '../../src/gateway/jit.js';
import { getSchema } from '../../src/graphql/schema.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

test('which documents give a literal to a scalar that reads variables (JSON)', () => {
  const schema = getSchema();
  // logEvent's `event` is JSON; logBulk's events are AuditEventInput, whose old/new are JSON.
  const dependent = [
    'mutation ($v: JSON) { logEvent(event: {message: "m", old: {x: $v}}) { __typename } }',
    'mutation { logEvent(event: {message: "m", actor: "a"}) { __typename } }',
    'mutation { logBulk(events: [{message: "a"}, {message: "b", old: [1, 2]}]) { __typename } }',
    'mutation { logBulk(events: [{message: "a", new: "text"}]) { __typename } }',
  ];
  const independent = [
    'query ($q: String!) { search(query: $q, first: 20) { __typename } }',
    'query { search(query: "actor:x", first: 20, order: ASC) { __typename } }',
    'mutation ($e: JSON!) { logEvent(event: $e) { __typename } }',
    'mutation ($v: JSON) { logBulk(events: [{message: "a", actor: "b", old: $v}]) { __typename } }',
  ];
  for (const text of dependent) expect([text, hasVariableDependentLiteral(schema, parse(text))]).toEqual([text, true]);
  for (const text of independent) expect([text, hasVariableDependentLiteral(schema, parse(text))]).toEqual([text, false]);
});

describe('through the gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  test('a variable inside a JSON literal is read on every run', async () => {
    const doc = 'mutation L($v: JSON) { logEvent(event: {message: "jit literal", actor: "jit", old: {x: $v}}) { __typename ... on LogResult { hash } ... on Error { message } } }';
    for (const v of ['first', 'second', 'third']) {
      const logged = await gw.runOk(doc, { v });
      expect(logged.logEvent.__typename).toBe('LogResult');
    }
    gw.publish();
    const found = await gw.runOk('query { search(query: "actor:jit", first: 10, order: ASC) { ... on AuditEventConnection { edges { node { old } } } } }');
    expect(found.search.edges.map((e: Json) => JSON.parse(e.node.old).x)).toEqual(['first', 'second', 'third']);
  });

  test('a repeated document (compiled from its second run) answers as its first run did', async () => {
    await gw.runOk('mutation ($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename } }', {
      e: Array.from({ length: 25 }, (_, i) => ({ message: `r${i}`, actor: 'repeat', target: `t${i % 4}` })),
    });
    gw.publish();
    const doc = `query S($q: String!, $after: String) { search(query: $q, first: 10, after: $after) { __typename
      ... on AuditEventConnection { totalCount missingEvents pageInfo { hasNextPage hasPreviousPage }
        edges { node { hash message actor target published leafIndex membershipProof verification { hash membership consistency signature verified failures } } } }
      ... on Error { message } } }`;
    const runs: Json[] = [];
    for (let i = 0; i < 4; i++) runs.push(await gw.runOk(doc, { q: 'actor:repeat' }));
    for (const run of runs.slice(1)) expect(run).toEqual(runs[0]);
    expect(runs[0].search.totalCount).toBe(25);
    expect(runs[0].search.edges.every((e: Json) => e.node.verification.verified)).toBe(true);
    // Errors come out the same way too.
    const bad: Json[] = [];
    for (let i = 0; i < 3; i++) bad.push((await gw.graphql(doc, { q: 'actor:repeat', after: 'not-a-cursor' })).body);
    for (const answer of bad.slice(1)) expect(answer).toEqual(bad[0]);
    expect(bad[0].data.search.__typename).not.toBe('AuditEventConnection');
  });
});
