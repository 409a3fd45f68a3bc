import { describe, expect, it } from 'vitest';
import { NOTIFICATION_TYPES, type Outcome } from '../../src/model.ts';
import { instanceActionDocumentSchema } from '../../src/cloud/schemas.ts';
import { labelOf, renderEmail, renderWebhookBody } from '../../src/notify/render.ts';
import { TRACEBACK, failedResize, fleetDigest } from './fixtures.ts';

describe('renderEmail subject', () => {
  const cases: [Outcome, string][] = [
    ['success', 'succeeded'],
    ['failure', 'failed'],
    ['timeout', 'timed out'],
    ['not_found', 'not found'],
  ];
  it.each(cases)('names the action, the outcome word for %s and the watch', (outcome, word) => {
    const { subject } = renderEmail(failedResize({ outcome, type: NOTIFICATION_TYPES[outcome] }));
    expect(subject).toBe(`[ecs-action-watch] resize ${word}: web-01`);
  });

  it('says "action" when the action was never read, and the server when the watch has no name', () => {
    const n = failedResize({ outcome: 'not_found', type: NOTIFICATION_TYPES.not_found, instanceAction: null, server: null });
    n.watch.name = null;
    expect(renderEmail(n).subject).toBe('[ecs-action-watch] action not found: e723eb40-f56e-40f9-8c8c-caa517fe06ba');
  });

  // `name: "${APP:-} ${ENV:-}"` with neither set is valid, and left a subject naming no watch at all.
  it('says the server when the name is blank', () => {
    const n = failedResize();
    n.watch.name = ' \n ';
    expect(renderEmail(n).subject).toBe('[ecs-action-watch] resize failed: e723eb40-f56e-40f9-8c8c-caa517fe06ba');
  });

  it('keeps the subject on one line whatever the name holds', () => {
    const n = failedResize();
    n.watch.name = 'web-01\nBcc: someone@example.com';
    expect(renderEmail(n).subject).toBe('[ecs-action-watch] resize failed: web-01 Bcc: someone@example.com');
  });

  // An auto-tracked watch is named after its server, which any user of the tenant can name: a U+202E in it
  // showed what follows it reversed, a digest line's ids and reason, a batch's counts, reading as another's.
  it('shows each bidi control of a name as its code point, so that it cannot reorder what follows it', () => {
    const controls = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];
    for (const code of controls) {
      expect(labelOf({ name: `web-01${String.fromCodePoint(code)}x`, projectId: 'p', serverId: 's', requestId: 'r' }))
        .toBe(`web-01[U+${code.toString(16).toUpperCase()}]x`);
    }
    const n = failedResize();
    n.watch.name = 'resize \u202E10-bew';
    expect(renderEmail(n).subject).toBe('[ecs-action-watch] resize failed: resize [U+202E]10-bew');
    const digest = fleetDigest({ batch: 'fleet\u202E' });
    digest.watches[3] = { ...digest.watches[3]!, watch: { ...digest.watches[3]!.watch, name: 'reboot web-04\u2067' } };
    const { subject, text } = renderEmail(digest);
    expect(subject).toBe('[ecs-action-watch] batch fleet[U+202E] still running: 1 failed, 1 timed out, 1 pending, 1 succeeded');
    expect(text).toContain('  - reboot web-04[U+2067] (server-4, req-4): resize finished');
  });

  it('gives a test notification a test subject and says so in the body', () => {
    const { subject, text } = renderEmail({
      type: NOTIFICATION_TYPES.test,
      outcome: null,
      watch: { name: 'notify-test', projectId: '', serverId: '', requestId: '' },
      instanceAction: null,
      server: null,
      reason: 'sent by notify-test',
      detectedAt: '2026-11-26T18:00:00.000Z',
    });
    expect(subject).toBe('[ecs-action-watch] test notification: notify-test');
    expect(text).toContain('test notification');
    expect(text).toContain('sent by notify-test');
    expect(text).not.toContain('Action:');
  });
});

describe('renderEmail body', () => {
  const { text } = renderEmail(failedResize());

  it('gives the ids, the reason, the server state and fault and when it was detected', () => {
    expect(text).toContain('req-5a429946-c9cc-45cc-b5bd-68864209e5cc');
    expect(text).toContain('e723eb40-f56e-40f9-8c8c-caa517fe06ba');
    expect(text).toContain('89655fe61c4c4a08b9f3e7f9095441b8');
    expect(text).toContain('Reason: compute_resize_instance: Error');
    expect(text).toMatch(/Server state: +ERROR, task state none/);
    expect(text).toMatch(/Server fault: +500 No valid host was found\./);
    expect(text).toMatch(/Detected: +2026-11-26T18:00:00\.000Z/);
  });

  it('lists every event with its result and UTC times marked Z', () => {
    expect(text).toContain(
      '  - compute_prep_resize: Success, started 2026-11-26T17:50:01.000Z, finished 2026-11-26T17:50:09.123Z',
    );
    expect(text).toContain(
      '  - compute_resize_instance: Error, started 2026-11-26T17:50:10.000Z, finished 2026-11-26T17:51:02.000Z',
    );
    expect(text).toContain('resize, started 2026-11-26T17:50:00.000Z');
  });

  it('carries the full traceback of each failed event only', () => {
    expect(text).toContain('Traceback of compute_resize_instance:');
    for (const line of TRACEBACK.split('\n')) expect(text).toContain(`    ${line}`);
    expect(text).not.toContain('Traceback of compute_prep_resize');
  });

  it('says when the API hides events or tracebacks rather than printing nothing', () => {
    const hidden = failedResize();
    const action = hidden.instanceAction!;
    action.events = [{ event: 'compute_resize_instance', start_time: '2026-11-26T17:50:10.000000', finish_time: null, result: 'Error' }];
    const withoutTraceback = renderEmail(hidden).text;
    expect(withoutTraceback).toContain('not finished');
    expect(withoutTraceback).toContain('administrators only');

    delete action.events;
    expect(renderEmail(hidden).text).toContain('Events: none reported by the API');
  });

  it('says a step the cloud sent with a blank finish_time is not finished, read through the client\'s schema', () => {
    const blank = failedResize();
    const events = [{ event: 'compute_resize_instance', start_time: '', finish_time: '', result: null }];
    blank.instanceAction = instanceActionDocumentSchema.parse({ instanceAction: { ...blank.instanceAction, events } }).instanceAction;
    expect(renderEmail(blank).text).toContain('  - compute_resize_instance: in progress, started unknown, not finished\n');
  });

  it('shows a timestamp it cannot read as the API gave it', () => {
    const odd = failedResize();
    odd.instanceAction!.start_time = 'yesterday';
    expect(renderEmail(odd).text).toContain('resize, started yesterday');
  });
});

describe('renderWebhookBody', () => {
  it('writes the contract body with its keys in contract order', () => {
    const n = failedResize();
    const body = JSON.parse(renderWebhookBody(n)) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['type', 'outcome', 'watch', 'instanceAction', 'server', 'reason', 'detectedAt']);
    expect(Object.keys(body.watch as object)).toEqual(['name', 'projectId', 'serverId', 'requestId']);
    expect(Object.keys(body.server as object)).toEqual(['status', 'taskState', 'fault']);
    expect(body).toEqual(n);
    // Forwarded as the API returned it, fields we do not model included.
    expect((body.instanceAction as Record<string, unknown>).user_id).toBe('ops');
  });

  it('keeps the order whatever order the notification was built in, and nothing extra', () => {
    const { detectedAt, reason, ...rest } = failedResize();
    const shuffled = { detectedAt, reason, extra: 'no', ...rest };
    const body = renderWebhookBody(shuffled);
    expect(body.startsWith('{"type":"ecs.action.failed","outcome":"failure","watch":{"name":"web-01"')).toBe(true);
    expect(body).not.toContain('extra');
  });

  it('writes null for what was never read', () => {
    const body = JSON.parse(renderWebhookBody(failedResize({ instanceAction: null, server: null }))) as Record<string, unknown>;
    expect(body.instanceAction).toBeNull();
    expect(body.server).toBeNull();
  });
});

describe('an early warning', () => {
  const slow = failedResize({ type: NOTIFICATION_TYPES.slow, outcome: null, reason: 'resize still running 23 min after it started (warnAfter 20 min)', server: null });

  it('says the action is still running, and that the outcome follows', () => {
    const { subject, text } = renderEmail(slow);
    expect(subject).toBe('[ecs-action-watch] resize still running: web-01');
    expect(text).toContain('early warning');
    expect(text).toContain('Reason: resize still running 23 min');
  });

  it('has the action body with outcome null', () => {
    const body = JSON.parse(renderWebhookBody(slow)) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'ecs.action.slow', outcome: null, server: null });
    expect(Object.keys(body)).toEqual(['type', 'outcome', 'watch', 'instanceAction', 'server', 'reason', 'detectedAt']);
  });
});

describe('a batch digest', () => {
  it('counts in the subject, failures first, and says whether it is final', () => {
    expect(renderEmail(fleetDigest()).subject).toBe('[ecs-action-watch] batch fleet-resize still running: 1 failed, 1 timed out, 1 pending, 1 succeeded');
    const final = fleetDigest({ type: 'ecs.batch.finished', round: 2, counts: { success: 48, failure: 2, timeout: 0, not_found: 0, pending: 0 } });
    expect(renderEmail(final).subject).toBe('[ecs-action-watch] batch fleet-resize (round 2) finished: 2 failed, 48 succeeded');
  });

  it('lists the failures first and in full (events, traceback), the successes last and briefly', () => {
    const { text } = renderEmail(fleetDigest());
    const order = ['Failed (1):', 'Timed out (1):', 'Pending (1):', 'Succeeded (1):'].map((h) => text.indexOf(h));
    expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!))).toBe(true);
    expect(text).toContain('    Reason:       compute_resize_instance: Error');
    expect(text).toContain('    Traceback of compute_resize_instance:');
    expect(text).toContain(TRACEBACK.split('\n').at(-1));
    expect(text).toContain('  - web-04 (server-4, req-4): resize finished');
    expect(text).toContain('Not finished yet');
  });

  // A reason or a fault holding a line break (a libvirt error) went on at the left margin, between the
  // entries, where its rest read as a line of the digest's own.
  it('keeps each failure in full under its entry, a value of several lines aligned under its first', () => {
    const digest = fleetDigest();
    const failed = digest.watches[0]!;
    digest.watches[0] = { ...failed, reason: 'resize failed: server ERROR: internal error: qemu unexpectedly closed the monitor\n- web-09: resize finished' };
    const lines = renderEmail(digest).text.split('\n');
    const entry = lines.slice(lines.indexOf('  - web-01') + 1, lines.indexOf('Timed out (1):') - 1);
    expect(entry.every((line) => line === '' || line.startsWith('    '))).toBe(true);
    expect(entry.slice(0, 2)).toEqual([
      '    Reason:       resize failed: server ERROR: internal error: qemu unexpectedly closed the monitor',
      '                  - web-09: resize finished',
    ]);
  });

  it('has the contract body: counts, every watch, and the facts of each one that did not succeed', () => {
    const body = JSON.parse(renderWebhookBody(fleetDigest())) as { watches: Array<Record<string, unknown>> } & Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['type', 'batch', 'round', 'counts', 'watches', 'detectedAt']);
    expect(body).toMatchObject({ type: 'ecs.batch.partial', batch: 'fleet-resize', counts: { success: 1, failure: 1, timeout: 1, not_found: 0, pending: 1 } });
    expect(body.watches.map((w) => Object.keys(w))).toEqual([
      ['watch', 'outcome', 'reason', 'detectedAt', 'instanceAction', 'server'],
      ['watch', 'outcome', 'reason', 'detectedAt', 'instanceAction', 'server'],
      ['watch', 'outcome', 'reason', 'detectedAt'],
      ['watch', 'outcome', 'reason', 'detectedAt'],
    ]);
    expect((body.watches[0]!.instanceAction as { events: unknown[] }).events).toHaveLength(2);
  });

  it('gives an entry whose details were no longer kept the shape of one with them, and never says they were never read', () => {
    const gone = { outcome: 'failure' as const, reason: 'resize failed (its details were let go ...)', detectedAt: '2026-11-26T18:00:00.000Z' };
    const digest = fleetDigest({
      watches: [
        { watch: { name: 'web-05', projectId: 'p1', serverId: 'server-5', requestId: 'req-5' }, ...gone },
        { watch: { kind: 'ecs-job', name: 'create db', projectId: 'p1', jobId: 'j1' }, ...gone },
      ],
    });
    const body = JSON.parse(renderWebhookBody(digest)) as { watches: Array<Record<string, unknown>> };
    expect(body.watches.map((w) => [w.instanceAction, w.server, w.job])).toEqual([[null, null, undefined], [null, null, null]]);
    const { text } = renderEmail(digest);
    expect(text).toMatch(/Request: +req-5/);
    expect(text).toMatch(/Job: +j1/);
    expect(text).not.toContain('never read');
  });
});

describe('a job notification', () => {
  it('gives the job type, its times, its failure and each sub-job in the mail', () => {
    const { text } = renderEmail({
      type: NOTIFICATION_TYPES.failure,
      outcome: 'failure',
      watch: { kind: 'ecs-job', name: 'create db', projectId: 'p1', jobId: 'j1' },
      instanceAction: null,
      server: null,
      job: {
        status: 'FAIL', job_id: 'j1', job_type: 'createServer', begin_time: '2026-11-26T17:50:00.000Z', end_time: '2026-11-26T17:55:00.000Z',
        error_code: 'Ecs.0039', fail_reason: 'Insufficient EVS disk quota.',
        entities: { sub_jobs: [{ status: 'FAIL', entities: { server_id: 'srv-1' }, job_type: 'createSingleServer', error_code: 'Ecs.0039', fail_reason: 'quota' }] },
      },
      reason: 'createServer failed',
      detectedAt: '2026-11-26T18:00:00.000Z',
    });
    expect(text).toMatch(/Job: +j1/);
    expect(text).toMatch(/Job type: +createServer, FAIL/);
    expect(text).toMatch(/Began: +2026-11-26T17:50:00\.000Z/);
    expect(text).toMatch(/Failure: +Ecs\.0039 Insufficient EVS disk quota\./);
    expect(text).toMatch(/Detected: +2026-11-26T18:00:00\.000Z/);
    expect(text).toContain('Sub-jobs (1):');
  });

  it('says a time an ended job leaves blank is unknown, not that it has not ended yet (the IMS edition writes end_time "")', () => {
    const job = (status: string) => renderEmail({
      type: NOTIFICATION_TYPES.success,
      outcome: 'success',
      watch: { kind: 'ecs-job', name: 'create db', projectId: 'p1', jobId: 'j1' },
      instanceAction: null,
      server: null,
      job: { status, job_id: 'j1', job_type: 'createServer', begin_time: '', end_time: '', error_code: null, fail_reason: null, entities: {} },
      reason: 'createServer: succeeded',
      detectedAt: '2026-11-26T18:00:00.000Z',
    }).text;
    expect(job('SUCCESS')).toMatch(/Began: +unknown\nEnded: +unknown\n/);
    expect(job('INIT')).toMatch(/Began: +not yet\nEnded: +not yet\n/);
  });
});
