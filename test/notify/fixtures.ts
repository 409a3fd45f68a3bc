import { expect } from 'vitest';
import { DeliveryError } from '../../src/notify/DeliveryError.ts';
import { pino } from 'pino';
import { BATCH_NOTIFICATION_TYPES, NOTIFICATION_TYPES, type BatchNotification, type Notification } from '../../src/model.ts';
import type { DeliveryAttempt } from '../../src/notify/types.ts';

export const silentLogger = pino({ level: 'silent' });

export const TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 5201, in _resize_instance',
  '    raise exception.ResizeError(reason=reason)',
  'nova.exception.ResizeError: Resize error: not enough disk on host-17',
].join('\n');

/** A failed resize as the dispatcher would hand it over. */
export function failedResize(overrides: Partial<Notification> = {}): Notification {
  return {
    type: NOTIFICATION_TYPES.failure,
    outcome: 'failure',
    watch: {
      name: 'web-01',
      projectId: '89655fe61c4c4a08b9f3e7f9095441b8',
      serverId: 'e723eb40-f56e-40f9-8c8c-caa517fe06ba',
      requestId: 'req-5a429946-c9cc-45cc-b5bd-68864209e5cc',
    },
    instanceAction: {
      action: 'resize',
      request_id: 'req-5a429946-c9cc-45cc-b5bd-68864209e5cc',
      instance_uuid: 'e723eb40-f56e-40f9-8c8c-caa517fe06ba',
      message: 'Error',
      start_time: '2026-11-26T17:50:00.000000',
      user_id: 'ops',
      events: [
        {
          event: 'compute_prep_resize',
          start_time: '2026-11-26T17:50:01.000000',
          finish_time: '2026-11-26T17:50:09.123456',
          result: 'Success',
          traceback: null,
        },
        {
          event: 'compute_resize_instance',
          start_time: '2026-11-26T17:50:10.000000',
          finish_time: '2026-11-26T17:51:02.000000',
          result: 'Error',
          traceback: TRACEBACK,
        },
      ],
    },
    server: { status: 'ERROR', taskState: null, fault: { code: 500, message: 'No valid host was found.' } },
    reason: 'compute_resize_instance: Error (nova.exception.ResizeError: Resize error: not enough disk on host-17)',
    detectedAt: '2026-11-26T18:00:00.000Z',
    ...overrides,
  };
}

export function attempt(deliveryId = '3f1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f', n = 1, signal = new AbortController().signal): DeliveryAttempt {
  return { deliveryId, attempt: n, signal };
}

/**
 * Every property of a value and of what it holds, at any depth, enumerable or not (an error's `cause`,
 * an AggregateError's `errors`, a library's `input` or `response`): what some logger may print of it.
 */
export function everyProperty(value: unknown): string {
  const seen = new Set<object>();
  const shown: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) {
      shown.push(String(v));
      return;
    }
    if (seen.has(v)) return;
    seen.add(v);
    if (v instanceof Map) for (const [key, held] of v) [key, held].forEach(walk);
    if (v instanceof Set) v.forEach(walk);
    if (ArrayBuffer.isView(v)) shown.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1'));
    else {
      for (const key of Reflect.ownKeys(v)) {
        shown.push(String(key));
        const property = Object.getOwnPropertyDescriptor(v, key);
        if (property !== undefined && 'value' in property) walk(property.value);
      }
    }
  };
  walk(value);
  return shown.join('\n');
}

/** Awaits a send that must fail and returns its DeliveryError. */
export async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const err = await promise.then(
    () => expect.fail('expected the delivery to fail'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}

/** The digest of a batch of four: a failed resize (in full), a timed-out reboot, one pending, one success. */
export function fleetDigest(overrides: Partial<BatchNotification> = {}): BatchNotification {
  const failed = failedResize();
  const watch = (i: number) => ({ name: `web-0${i}`, projectId: failed.watch.projectId, serverId: `server-${i}`, requestId: `req-${i}` });
  return {
    type: BATCH_NOTIFICATION_TYPES.partial,
    batch: 'fleet-resize',
    round: 1,
    counts: { success: 1, failure: 1, timeout: 1, not_found: 0, pending: 1 },
    watches: [
      { watch: failed.watch, outcome: 'failure', reason: failed.reason, detectedAt: failed.detectedAt, instanceAction: failed.instanceAction, server: failed.server },
      { watch: watch(2), outcome: 'timeout', reason: 'not finished within 6 h', detectedAt: '2026-11-26T18:00:00.000Z', instanceAction: null, server: null },
      { watch: watch(3), outcome: null, reason: 'pending: resize, 1/3 events done, running compute_resize_instance', detectedAt: null },
      { watch: watch(4), outcome: 'success', reason: 'resize finished', detectedAt: '2026-11-26T17:55:00.000Z' },
    ],
    detectedAt: '2026-11-26T18:00:00.000Z',
    ...overrides,
  };
}

/** fleetDigest with `size` watches, its four kinds in turn: a batch as large as a fleet run's. */
export function largeFleetDigest(size: number): BatchNotification {
  const digest = fleetDigest();
  const watches = Array.from({ length: size }, (_, i) => {
    const entry = digest.watches[i % digest.watches.length]!;
    return { ...entry, watch: { ...entry.watch, name: `web-${i}` } };
  });
  return { ...digest, watches };
}

/**
 * A digest as large as a ready chat template's gets: more failures than it lists, of every outcome, each
 * with the name and reason given, under a long batch label, with six-digit counts.
 */
export function longFailuresDigest(name: (i: number) => string, reason: (i: number) => string): BatchNotification {
  const failed = failedResize();
  const outcomes = ['failure', 'timeout', 'not_found'] as const;
  const watches = Array.from({ length: 12 }, (_, i) => ({
    watch: { ...failed.watch, name: name(i), serverId: `server-${i}`, requestId: `req-${i}` },
    outcome: outcomes[i % outcomes.length]!, reason: reason(i), detectedAt: failed.detectedAt, instanceAction: failed.instanceAction, server: failed.server,
  }));
  return fleetDigest({
    batch: `fleet-resize-${name(99)}`, round: 999, watches,
    counts: { success: 100_000, failure: 100_000, timeout: 100_000, not_found: 100_000, pending: 100_000 },
  });
}
