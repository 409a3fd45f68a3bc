import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { InstanceAction } from '../../src/model.ts';
import { SharedStrings } from '../../src/cloud/sharedStrings.ts';

const sample = readFileSync(new URL('../fixtures/nova-api-samples/v2.84/instance-action-get-resp.json', import.meta.url), 'utf8');
const ref = { projectId: 'p', serverId: '4bf3473b-d550-4b65-9409-292d44ab14a2', requestId: 'req-0d819d5c-1527-4669-bdf0-ffad31b5105b' };

it('changes no value of the answer', () => {
  const action = (JSON.parse(sample) as { instanceAction: InstanceAction }).instanceAction;
  const before = structuredClone(action);
  const shared = new SharedStrings();
  shared.shareAction(action, ref);
  shared.shareAction(action, { ...ref, serverId: 'another', requestId: 'another' });
  expect(action).toStrictEqual(before);
});

/**
 * Heap bytes each of 10,000 answers costs once parsed, as Nova writes them (the v2.84 sample with its ids
 * made unique, its event, host and project as they are), kept with and without SharedStrings (the
 * differences count: the texts, parsed and dropped, are in both). A process of its own, for --expose-gc.
 */
function bytesEach(): { shared: number; unshared: number } {
  const module = JSON.stringify(new URL('../../src/cloud/sharedStrings.ts', import.meta.url).href);
  const body = `
    const { SharedStrings } = await import(${module});
    const sample = ${JSON.stringify(sample)};
    function cost(shared) {
      const id = (i) => String(i).padStart(8, '0');
      const texts = Array.from({ length: 10000 }, (_, i) => sample.replaceAll('4bf3473b', id(i)).replaceAll('req-0d819d5c', 'req-' + id(i)));
      // The watch's own ids, read from the watch file: copies of their own, made before the count starts.
      const refs = texts.map((_, i) => JSON.parse(JSON.stringify({ projectId: 'p', serverId: id(i) + '-d550-4b65-9409-292d44ab14a2', requestId: 'req-' + id(i) + '-1527-4669-bdf0-ffad31b5105b' })));
      const kept = new Array(texts.length);
      gc(); gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < texts.length; i++) {
        const action = JSON.parse(texts[i]).instanceAction;
        texts[i] = null;
        shared?.shareAction(action, refs[i]);
        kept[i] = action;
      }
      gc(); gc();
      return (process.memoryUsage().heapUsed - before) / kept.length;
    }
    cost(new SharedStrings());
    process.stdout.write(JSON.stringify({ shared: cost(new SharedStrings()), unshared: cost(undefined) }));
  `;
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', body], { encoding: 'utf8', timeout: 15_000 })) as {
    shared: number;
    unshared: number;
  };
}

it('keeps one copy of the strings that answers repeat', () => {
  const { shared, unshared } = bytesEach();
  // 158 bytes less on Node 24: the project id, the event name and the hostId. The ids the answer shares with
  // the watch save nothing more here, where both come from JSON.parse; in the daemon, whose ids come from the
  // watch file, a heap snapshot of 10,000 watches holds one copy of each where it held two.
  expect(unshared - shared).toBeGreaterThan(100);
});
