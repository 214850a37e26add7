// Event preparation keeps every field the caller gave, including names that are special to JS.
import { normalizeEventInput } from '../../src/audit-client/index.js';

test('a field named __proto__ stays a field of the event (and reaches the wire)', () => {
  const event = JSON.parse('{"message":"m","__proto__":{"x":1},"constructor":"c"}') as Record<string, unknown>;
  const normalized = normalizeEventInput(event);
  expect(Object.keys(normalized).sort()).toEqual(['__proto__', 'constructor', 'message']);
  expect(JSON.stringify(normalized)).toBe('{"message":"m","__proto__":"{\\"x\\":1}","constructor":"c"}');
  expect(Object.getPrototypeOf(normalized)).toBe(Object.prototype);
});

test('dates become ISO strings and null fields are dropped', () => {
  const normalized = normalizeEventInput({ message: 'm', timestamp: new Date('2024-01-02T03:04:05.678Z'), actor: null });
  expect(normalized).toEqual({ message: 'm', timestamp: '2024-01-02T03:04:05.678Z' });
});
