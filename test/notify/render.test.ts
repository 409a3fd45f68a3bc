import { describe, expect, it } from 'vitest';
import { NOTIFICATION_TYPES, type Outcome } from '../../src/model.ts';
import { renderEmail, renderWebhookBody } from '../../src/notify/render.ts';
import { TRACEBACK, failedResize } from './fixtures.ts';

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

  it('keeps the subject on one line whatever the name holds', () => {
    const n = failedResize();
    n.watch.name = 'web-01\nBcc: someone@example.com';
    expect(renderEmail(n).subject).toBe('[ecs-action-watch] resize failed: web-01 Bcc: someone@example.com');
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
