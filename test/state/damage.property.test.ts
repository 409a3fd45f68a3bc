// A state file edited by hand, restored from an older backup or damaged: whatever value a field (or the
// envelope) is given, or a field removed, the store opens it (setting aside what it cannot read), saves and
// closes, or refuses it with a StateError that says what to do; it never fails with another exception.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dictionary } from '../../src/data/dictionary.ts';
import { StateError } from '../../src/state/StateError.ts';
import { StateStore, watchKey } from '../../src/state/store.ts';
import type { ActionWatchRecord } from '../../src/state/types.ts';
import { CPU_BOUND_TEST_TIMEOUT_MS } from '../cpuBound.ts';

const AT = '2026-11-26T10:00:00.000Z';

function finished(requestId: string): ActionWatchRecord {
  return {
    projectId: 'p1', serverId: 's1', requestId, name: 'web-01', trackingSince: AT, everFound: true, lastError: null, failingSince: null,
    instanceAction: null, server: { status: 'ACTIVE', taskState: null, fault: null },
    verdict: { outcome: 'success', reason: 'resize: succeeded', detectedAt: AT },
    deliveries: dictionary([['chat', { id: `d-${requestId}`, status: 'pending', attempts: 1, createdAt: AT, nextAttemptAt: AT, lastError: 'HTTP 503', updatedAt: AT }]]),
    warning: null, batch: 'fleet',
  };
}

type Path = Array<string | number>;

let dir: string;
/** A snapshot holding a record of every section: watches, a batch, a tracked server and the clock. */
let snapshot: unknown;
/** Every place in it, the envelope included. */
const places: Path[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eaw-damage-'));
  const store = await StateStore.open(join(dir, 'state.json'));
  for (const request of ['r1', 'r2']) store.set(watchKey(finished(request)), finished(request));
  const member = { key: 'p1/s1/r1', watch: { name: 'web-01', projectId: 'p1', serverId: 's1', requestId: 'r1' }, outcome: 'success' as const, reason: 'ok', detectedAt: AT };
  store.setBatch({ label: 'fleet', digests: [{ round: 1, final: true, detectedAt: AT, members: [member], deliveries: dictionary() }] });
  store.tracking.servers['p1/s9'] = { projectId: 'p1', serverId: 's9', name: null, since: AT, horizon: null, seen: dictionary(), cursor: null, ending: false, missingSince: null, missingAnswers: 0, endedAt: null, lastError: null };
  store.touchTracking();
  store.setClock({ at: AT, boot: { id: 'boot', ms: 5 }, cloud: { name: 'https://ecs.example', aheadMs: 1 } });
  await store.close();
  snapshot = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
  const walk = (value: unknown, path: Path) => {
    places.push(path);
    if (typeof value === 'object' && value !== null) for (const [key, inner] of Object.entries(value)) walk(inner, [...path, Array.isArray(value) ? Number(key) : key]);
  };
  walk(snapshot, []);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

/** The snapshot with the value at each place replaced (undefined: removed). */
function damaged(changes: ReadonlyArray<{ place: number; value: unknown }>): unknown {
  const copy = structuredClone(snapshot) as Record<string | number, unknown>;
  for (const { place, value } of changes) {
    const path = places[place]!;
    if (path.length === 0) continue;
    let parent: unknown = copy;
    for (const key of path.slice(0, -1)) parent = typeof parent === 'object' && parent !== null ? (parent as Record<string | number, unknown>)[key] : undefined;
    if (typeof parent !== 'object' || parent === null) continue;
    const last = path.at(-1)!;
    if (value === undefined) delete (parent as Record<string | number, unknown>)[last];
    else (parent as Record<string | number, unknown>)[last] = value;
  }
  return copy;
}

describe('a damaged state file', () => {
  it('is opened, saved and closed, or refused with a StateError; nothing else', async () => {
    let files = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ place: fc.nat({ max: places.length - 1 }), value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)) }), { minLength: 1, maxLength: 3 }),
        async (changes) => {
          const path = join(dir, `state-${files++}.json`);
          await writeFile(path, JSON.stringify(damaged(changes)));
          try {
            const store = await StateStore.open(path);
            store.touch();
            await store.close();
            await StateStore.open(path, { readOnly: true });
          } catch (err) {
            expect(err).toBeInstanceOf(StateError);
          }
        },
      ),
      { numRuns: 150 },
    );
  }, CPU_BOUND_TEST_TIMEOUT_MS);
});
