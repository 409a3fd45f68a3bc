import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { dictionary } from '../../src/data/dictionary.ts';

it('keeps every name as an own entry, __proto__ and constructor included, with no prototype', () => {
  const d = dictionary([['__proto__', 1], ['constructor', 2], ['chat', 3]]);
  expect(Object.getPrototypeOf(d)).toBeNull();
  expect(Object.keys(d)).toEqual(['__proto__', 'constructor', 'chat']);
  expect(JSON.parse(JSON.stringify(d))).toEqual({ ['__proto__']: 1, constructor: 2, chat: 3 });
  d['toString'] = 4;
  expect(d['toString']).toBe(4);
});

/**
 * Heap bytes each of 20,000 one-entry dictionaries costs, made by `dictionary` and, as the premise, by
 * Object.create(null), which it used to be. A process of its own, for --expose-gc.
 */
function bytesEach(): { dictionary: number; createNull: number } {
  const module = JSON.stringify(new URL('../../src/data/dictionary.ts', import.meta.url).href);
  const body = `
    const { dictionary } = await import(${module});
    const delivery = { status: 'pending' };
    function cost(make) {
      const kept = new Array(20000);
      gc(); gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < kept.length; i++) { const d = make(); d.chat = delivery; kept[i] = d; }
      gc(); gc();
      return (process.memoryUsage().heapUsed - before) / kept.length;
    }
    cost(() => dictionary());
    process.stdout.write(JSON.stringify({ dictionary: cost(() => dictionary()), createNull: cost(() => Object.create(null)) }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', body], { encoding: 'utf8', timeout: 15_000 })) as {
    dictionary: number;
    createNull: number;
  };
}

it('costs a watch record a fast object rather than a hash table for its deliveries', () => {
  const { dictionary: fast, createNull } = bytesEach();
  // The premise: V8 gives Object.create(null) a hash table (185 bytes for one entry on Node 24).
  expect(createNull).toBeGreaterThan(150);
  // 57 bytes on Node 24.
  expect(fast).toBeLessThan(100);
});
