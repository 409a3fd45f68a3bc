// Which notifiers a digest goes to, recorded in an in-memory state: the union of its watches' `notify:`,
// each notifier by its `on:` filter.
import { describe, expect, it } from 'vitest';
import { BatchDigests } from '../../src/batch/digests.ts';
import type { Member } from '../../src/batch/plan.ts';
import { dictionary } from '../../src/data/dictionary.ts';
import type { NotifyEvent, Outcome } from '../../src/model.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import type { Notifier } from '../../src/notify/types.ts';
import { lastDigestAt } from '../../src/state/retention.ts';
import { StateStore } from '../../src/state/store.ts';
import type { ActionWatchRecord, WatchRecord } from '../../src/state/types.ts';

const T = Date.parse('2026-11-26T17:00:00.000Z');

function notifier(name: string, on: readonly NotifyEvent[]): [string, Notifier] {
  return [name, { name, type: 'webhook', accepts: (e) => on.includes(e), send: () => Promise.reject(new Error('not sent here')), close: async () => undefined }];
}

interface Spec {
  outcome: Outcome | null;
  notify?: string[];
  lastError?: string;
  instanceAction?: ActionWatchRecord['instanceAction'];
}

/** The digest due for a batch `fleet` of these watches at `now`, recorded in an in-memory state. */
function recordDigests(members: Spec[], { now = T, windowMs }: { now?: number; windowMs?: number } = {}) {
  const store = StateStore.inMemory();
  const notifiers = new Map([notifier('chat', ['failure', 'timeout', 'not_found', 'success', 'slow']), notifier('pager', ['failure']), notifier('mail', ['success'])]);
  const batch: Member[] = members.map((m, i) => {
    const record: WatchRecord = {
      projectId: 'p', serverId: `s${i}`, requestId: `r${i}`, name: null, trackingSince: new Date(T).toISOString(), everFound: true, lastError: m.lastError ?? null, failingSince: null,
      instanceAction: m.instanceAction ?? null, server: null, verdict: m.outcome === null ? null : { outcome: m.outcome, reason: m.outcome, detectedAt: new Date(T).toISOString() },
      deliveries: dictionary(), batch: 'fleet',
    };
    store.set(`p/s${i}/r${i}`, record);
    return { key: `p/s${i}/r${i}`, record, batchWindowMs: windowMs, notify: m.notify };
  });
  const batches = new Map([['fleet', batch]]);
  const digests = new BatchDigests({ store, notifiers, logger: silentLogger(), retentionMs: 0 });
  digests.update(batches, now);
  return { store, digests, batches };
}

function setUp(members: Spec[]) {
  return Object.keys(recordDigests(members).store.getBatch('fleet')!.digests[0]!.deliveries).sort();
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

describe('a batch', () => {
  it('is settled, and done sending, once each delivery of its final digest is settled', () => {
    const { store, digests, batches } = recordDigests([{ outcome: 'success' }, { outcome: 'failure' }]);
    expect([digests.settled(batches), lastDigestAt(store.getBatch('fleet')) === Infinity]).toEqual([false, true]);
    // As the outbox settles them.
    for (const delivery of Object.values(store.getBatch('fleet')!.digests[0]!.deliveries)) Object.assign(delivery, { status: 'delivered', updatedAt: new Date(T).toISOString() });
    expect([digests.settled(batches), lastDigestAt(store.getBatch('fleet')) === Infinity]).toEqual([true, false]);
  });

  it('is forgotten, once settled, only when no watch of the file names it any more', () => {
    const { store, digests } = recordDigests([{ outcome: 'success', notify: [] }]);
    digests.prune(new Set(['fleet']), T + 1);
    expect(store.getBatch('fleet')).toBeDefined();
    digests.prune(new Set(), T + 1);
    expect(store.getBatch('fleet')).toBeUndefined();
  });

  it('reports where each watch still pending stands in its partial digest: its failing poll, or its events', () => {
    const running: ActionWatchRecord['instanceAction'] = {
      action: 'reboot', request_id: 'r2', start_time: '2026-11-26T17:00:00.000000', message: null,
      events: [{ event: 'compute_reboot_instance', start_time: '2026-11-26T17:00:01.000000', finish_time: null, result: null }],
    };
    const { store } = recordDigests([{ outcome: 'success' }, { outcome: null, lastError: 'GET /servers → 503' }, { outcome: null, instanceAction: running }], { now: T + 60_000, windowMs: 60_000 });
    expect(store.getBatch('fleet')!.digests).toMatchObject([{
      final: false,
      members: [
        { outcome: 'success', reason: 'success' },
        { outcome: null, reason: 'pending; last poll failed: GET /servers → 503' },
        { outcome: null, reason: 'pending: reboot, 0/1 events done, running compute_reboot_instance' },
      ],
    }]);
  });
});
