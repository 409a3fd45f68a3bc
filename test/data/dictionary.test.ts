import { expect, it } from 'vitest';
import { dictionary } from '../../src/data/dictionary.ts';
import { heapBytesEach, sourceModule } from '../isolated.ts';

it('keeps every name as an own entry, __proto__ and constructor included, with no prototype', () => {
  const d = dictionary([['__proto__', 1], ['constructor', 2], ['chat', 3]]);
  expect(Object.getPrototypeOf(d)).toBeNull();
  expect(Object.keys(d)).toEqual(['__proto__', 'constructor', 'chat']);
  expect(JSON.parse(JSON.stringify(d))).toEqual({ ['__proto__']: 1, constructor: 2, chat: 3 });
  d['toString'] = 4;
  expect(d['toString']).toBe(4);
});

it('costs a watch record a fast object rather than a hash table for its deliveries', () => {
  const setup = `const { dictionary } = await import(${sourceModule('data/dictionary.ts')}); const delivery = { status: 'pending' };`;
  const fast = heapBytesEach(setup, 'Object.assign(dictionary(), { chat: delivery })');
  const createNull = heapBytesEach(setup, 'Object.assign(Object.create(null), { chat: delivery })');
  // The premise: V8 gives Object.create(null) a hash table (185 bytes for one entry on Node 24).
  expect(createNull).toBeGreaterThan(150);
  // 57 bytes on Node 24.
  expect(fast).toBeLessThan(100);
});
