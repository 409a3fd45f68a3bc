// One pass of auto-tracking against a fake client: what the horizons the passes keep let through.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InstanceActionSummary } from '../../src/model.ts';
import { ApiError } from '../../src/cloud/ApiError.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import type { TrackSpec } from '../../src/config/schema.ts';
import { trackPass, type TrackContext } from '../../src/track/tracker.ts';

const PROJECT = 'p1';
const SERVER = 'e723eb40-f56e-40f9-8c8c-caa517fe06ba';
const T0 = Date.parse('2026-11-26T10:00:00Z');
const nova = (ms: number) => new Date(ms).toISOString().replace('Z', '000');

function harness(options: { cloudBehindMs: number }) {
  let listing: (() => InstanceActionSummary[]) | null = null;
  const records = new Map<string, unknown>();
  const client = {
    microversion: () => Promise.resolve('2.60'),
    // Within 30 s the clocks count as agreeing: the client measures nothing, the cloud's time is this host's.
    clock: { aheadMs: 0, now: () => Date.now() },
    getServer: () => Promise.resolve({ name: 'web-01' }),
    listInstanceActions: () => {
      if (listing === null) return Promise.reject(new ApiError({ kind: 'server', status: 503, message: '503 Service Unavailable' } as never));
      return Promise.resolve({ actions: listing(), next: null });
    },
  };
  const store = {
    tracking: { servers: {}, projects: {} },
    touchTracking: () => {},
    get: (key: string) => records.get(key),
    set: (key: string, value: unknown) => records.set(key, value),
  };
  const ctx = {
    client, store, logger: silentLogger(), defaultDeadlineMs: 6 * 3600_000,
    read: (_log: unknown, call: (signal: AbortSignal) => Promise<unknown>) => call(new AbortController().signal),
    failed: (_log: unknown, _about: unknown, err: unknown) => String(err),
    answered: () => {},
    limit: (task: () => Promise<unknown>) => task(),
    cancelled: () => false,
    now: () => Date.now(),
  } as unknown as TrackContext;
  return {
    ctx, records,
    /** The cloud's clock, behind this host's by less than the client tells apart. */
    cloudNow: () => Date.now() - options.cloudBehindMs,
    answer: (actions: () => InstanceActionSummary[]) => { listing = actions; },
  };
}

describe('trackPass', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['Date'] }); vi.setSystemTime(T0); });
  afterEach(() => { vi.useRealTimers(); });

  const entries: TrackSpec[] = [{ projectId: PROJECT, servers: [SERVER] } as TrackSpec];

  it('watches an action started after a failed first listing, on a cloud whose clock is behind by less than the client tells apart', async () => {
    const h = harness({ cloudBehindMs: 25_000 });
    // Tracking is asked for; the cloud fails the first listing.
    await trackPass(entries, h.ctx);
    expect(h.records.size).toBe(0);
    // 15 s later an operator resizes the server: its start_time is the cloud's, 10 s before the failed listing by this host's clock.
    vi.setSystemTime(T0 + 15_000);
    const resize = { action: 'resize', request_id: 'req-new', start_time: nova(h.cloudNow()), updated_at: nova(h.cloudNow()) };
    const create = { action: 'create', request_id: 'req-old', start_time: nova(T0 - 86_400_000), updated_at: nova(T0 - 86_400_000) };
    vi.setSystemTime(T0 + 30_000);
    h.answer(() => [resize, create]);
    await trackPass(entries, h.ctx);
    expect([...h.records.keys()].map((k) => k.split('/').at(-1))).toEqual(['req-new']);
  });

  it('watches an action that changed a server of a project\'s second page after its baseline was sent, on a cloud whose clock is behind by less than the client allows for', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    vi.setSystemTime(T0);
    const h = harness({ cloudBehindMs: 20_000 });
    // The client measured the cloud 20 s behind, too little to allow for (CLOCKS_APART_MS).
    Object.assign(h.ctx.client.clock, { measuredMs: -20_000 });
    const old = { action: 'create', request_id: 'req-old', start_time: nova(T0 - 86_400_000), updated_at: nova(T0 - 86_400_000) };
    let reboot: InstanceActionSummary | null = null;
    const updatedAt = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
    Object.assign(h.ctx.client, {
      listServers: (_project: string, options: { changesSince?: string; marker?: string }) => {
        if (options.changesSince !== undefined) return Promise.resolve({ servers: [], next: null });
        if (options.marker === undefined) return Promise.resolve({ servers: [{ id: 'a', name: 'app-01', status: 'ACTIVE', updated: updatedAt(T0 - 86_400_000) }], next: 'a' });
        // The second page is read 3 s after the first was sent; in between, web-01 was rebooted, which stamped its `updated`.
        vi.advanceTimersByTime(3000);
        reboot = { action: 'reboot', request_id: 'req-new', start_time: nova(h.cloudNow() - 500), updated_at: nova(h.cloudNow() - 500) };
        return Promise.resolve({ servers: [{ id: SERVER, name: 'web-01', status: 'ACTIVE', updated: updatedAt(h.cloudNow()) }], next: null });
      },
      listInstanceActions: (ref: { serverId: string }) => Promise.resolve({ actions: ref.serverId === SERVER ? [reboot!, old] : [old], next: null }),
    });
    await trackPass([{ projectId: PROJECT, project: 'all' } as TrackSpec], h.ctx);
    expect([...h.records.keys()].map((k) => k.split('/').at(-1))).toEqual(['req-new']);
  });
});
