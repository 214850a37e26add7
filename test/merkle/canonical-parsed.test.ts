// canonicalParsedJson (src/merkle/canonical-parsed.ts), the canonical JSON of the hot paths,
// against canonicalJson (json-canonicalize, the reference that matches every conformance vector):
// the same text for any JSON value, parsed as it comes or from canonical text (members already in
// order: the single JSON.stringify path), for the awkward cases one by one, and for the values
// the local service builds around parsed events (undefined members, signature fields). What
// canonicalJson refuses, it refuses.
import fc from 'fast-check';
import { canonicalJson, canonicalParsedJson } from '../../src/merkle/index.js';

test('equal to canonicalJson on any JSON text, parsed as it comes and from canonical text', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const parsed = JSON.parse(JSON.stringify(value)) as unknown;
      expect(canonicalParsedJson(parsed)).toBe(canonicalJson(parsed));
      const stored = JSON.parse(canonicalJson(parsed)) as unknown;
      expect(canonicalParsedJson(stored)).toBe(canonicalJson(parsed));
    }),
    { numRuns: 2000 },
  );
});

test('the awkward cases: key order by UTF-16 units, escapes, numbers, __proto__ and toJSON members', () => {
  const texts = [
    '{"b":1,"a":2,"\u00e9":3,"\ud83d\ude00":4,"\uff61":5,"A":6}',
    '{"s":"line\\nbreak \\"quoted\\" \\u0001 \\u2028 \\ud800 tab\\t","n":[1e21,1E-7,-0,0.1,100,2.5e-300]}',
    '{"__proto__":{"x":1},"constructor":"c"}',
    '{"event":{"toJSON":"not a function","z":1,"a":2}}',
    '[[],{},null,true,false,""]',
    // Already in canonical order (the fast path), integer-like member names (which objects list first), nesting.
    '{"10":1,"9":2,"a":{"b":[{"c":1,"d":2}]},"\u00e9":"x","\ud83d\ude00":"y"}',
    '{"a":{"d":1,"c":2},"b":1}',
    '{"a":[{"y":1,"x":2}]}',
    // Out of order with integer-like member names, at the top and nested; and a __proto__ member out of order.
    '{"b":1,"10":2,"9":3,"a":4}',
    '{"z":[{"b":1,"1":2}],"a":{"y":{"9":1,"10":2,"0":3}}}',
    '{"z":1,"__proto__":{"b":1,"a":2},"a":[3,{"d":1,"c":{}}]}',
  ];
  for (const text of texts) {
    const parsed = JSON.parse(text) as unknown;
    expect(canonicalParsedJson(parsed)).toBe(canonicalJson(parsed));
  }
});

test('envelopes as the local service builds them: parsed events, received_at, signature fields, undefined members', () => {
  const event = JSON.parse('{"message":"m","actor":"a","tenant_id":"t","new":"{\\"b\\":1}","count":3,"ok":true}') as Record<string, unknown>;
  const envelopes: unknown[] = [
    { event, received_at: '2026-12-05T05:00:00.000001Z' },
    { event, received_at: '2026-12-05T05:00:00.000001Z', signature: 'c2ln', public_key: '{"key":"k"}' },
    { event: { ...event, absent: undefined }, received_at: 'r', signature: undefined },
    { list: [1, undefined, 'x'] },
  ];
  for (const envelope of envelopes) expect(canonicalParsedJson(envelope)).toBe(canonicalJson(envelope));
});

test('what canonicalJson refuses, it refuses: undefined, and numbers JSON cannot hold, in order or not', () => {
  for (const value of [undefined, Number.NaN, { a: Number.POSITIVE_INFINITY }, { b: 1, a: Number.NaN }, [1, Number.NEGATIVE_INFINITY]]) {
    expect(() => canonicalJson(value)).toThrow();
    expect(() => canonicalParsedJson(value)).toThrow();
  }
});
