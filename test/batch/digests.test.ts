// Which notifiers a digest goes to, recorded in an in-memory state: the union of its watches' `notify:`,
// each notifier by its `on:` filter.
import { describe, expect, it } from 'vitest';
import { BatchDigests } from '../../src/batch/digests.ts';
import type { Member } from '../../src/batch/plan.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import type { NotifyEvent, Outcome } from '../../src/model.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import type { Notifier } from '../../src/notify/types.ts';
import { StateStore } from '../../src/state/store.ts';
import type { WatchRecord } from '../../src/state/types.ts';

const T = Date.parse('2026-11-26T17:00:00.000Z');

function notifier(name: string, on: readonly NotifyEvent[]): [string, Notifier] {
  return [name, { name, type: 'webhook', accepts: (e) => on.includes(e), send: () => Promise.reject(new Error('not sent here')), close: async () => undefined }];
}

function setUp(members: Array<{ outcome: Outcome; notify?: string[] }>) {
  const store = StateStore.inMemory();
  const notifiers = new Map([notifier('chat', ['failure', 'timeout', 'not_found', 'success', 'slow']), notifier('pager', ['failure']), notifier('mail', ['success'])]);
  const batch: Member[] = members.map((m, i) => {
    const record: WatchRecord = {
      projectId: 'p', serverId: `s${i}`, requestId: `r${i}`, name: null, trackingSince: new Date(T).toISOString(), everFound: true, lastError: null, failingSince: null,
      instanceAction: null, server: null, verdict: { outcome: m.outcome, reason: m.outcome, detectedAt: new Date(T).toISOString() }, deliveries: dictionary(), batch: 'fleet',
    };
    store.set(`p/s${i}/r${i}`, record);
    return { key: `p/s${i}/r${i}`, record, batchWindowMs: undefined, notify: m.notify };
  });
  new BatchDigests({ store, notifiers, logger: silentLogger(), retentionMs: 0 }).update(new Map([['fleet', batch]]), T);
  return Object.keys(store.getBatch('fleet')!.digests[0]!.deliveries).sort();
}

describe('a digest goes to', () => {
  it('every notifier told about an outcome it counts, when a watch names none', () => {
    expect(setUp([{ outcome: 'success' }, { outcome: 'failure', notify: ['chat'] }])).toEqual(['chat', 'mail', 'pager']);
    expect(setUp([{ outcome: 'success' }, { outcome: 'success' }])).toEqual(['chat', 'mail']);
  });

  it('the notifiers its watches name, together', () => {
    expect(setUp([{ outcome: 'failure', notify: ['chat'] }, { outcome: 'success', notify: ['mail'] }])).toEqual(['chat', 'mail']);
  });

  it('nobody when its watches name none, though it is recorded so that it is never due again', () => {
    expect(setUp([{ outcome: 'failure', notify: [] }])).toEqual([]);
  });
});
