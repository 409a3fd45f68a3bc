// `node scripts/node24.mjs bench/templates.ts`: what one template rendering of a batch digest costs on the
// daemon's thread, with and without the view's `text` and `body`. A measurement, not a test: it asserts
// nothing. TEMPLATE_WATCHES (default 1000,10000) sets the batch sizes, TEMPLATE_FAILED (default 0.1) the
// share of watches that failed (each carrying its action, events and traceback, as a digest does).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { BATCH_NOTIFICATION_TYPES, type BatchEntry, type BatchNotification, type OutgoingNotification } from '../src/model.ts';
import { renderEmail, renderWebhookBody } from '../src/notify/render.ts';
import { renderTemplate, type TemplateMode } from '../src/notify/template/template.ts';
import { viewOf } from '../src/notify/template/view.ts';

const sizes = (process.env['TEMPLATE_WATCHES'] ?? '1000,10000').split(',').map(Number);
const failedShare = Number(process.env['TEMPLATE_FAILED'] ?? 0.1);
const ROUNDS = 15;

const traceback = [
  'Traceback (most recent call last):',
  '  File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 5201, in _resize_instance',
  '    raise exception.ResizeError(reason=reason)',
  'nova.exception.ResizeError: Resize error: not enough disk on host-17',
].join('\n');

function entry(i: number, failed: boolean): BatchEntry {
  const watch = { name: `web-${i}`, projectId: '89655fe61c4c4a08b9f3e7f9095441b8', serverId: `server-${i}`, requestId: `req-${i}` };
  if (!failed) return { watch, outcome: 'success', reason: 'resize finished', detectedAt: '2026-11-26T17:55:00.000Z' };
  return {
    watch, outcome: 'failure', reason: 'compute_resize_instance: Error (nova.exception.ResizeError: Resize error: not enough disk on host-17)',
    detectedAt: '2026-11-26T18:00:00.000Z',
    instanceAction: {
      action: 'resize', request_id: `req-${i}`, message: 'Error', start_time: '2026-11-26T17:50:00.000000',
      events: [
        { event: 'compute_prep_resize', start_time: '2026-11-26T17:50:01.000000', finish_time: '2026-11-26T17:50:09.123456', result: 'Success', traceback: null },
        { event: 'compute_resize_instance', start_time: '2026-11-26T17:50:10.000000', finish_time: '2026-11-26T17:51:02.000000', result: 'Error', traceback },
      ],
    },
    server: { status: 'ERROR', taskState: null, fault: { code: 500, message: 'No valid host was found.' } },
  };
}

/** A final digest of `size` finished watches, every 1/failedShare-th of them failed. */
function digest(size: number): BatchNotification {
  const every = failedShare > 0 ? Math.round(1 / failedShare) : Infinity;
  const watches = Array.from({ length: size }, (_, i) => entry(i, i % every === 0));
  const failure = watches.filter((w) => w.outcome === 'failure').length;
  return {
    type: BATCH_NOTIFICATION_TYPES.finished, batch: 'fleet-resize', round: 1,
    counts: { success: size - failure, failure, timeout: 0, not_found: 0, pending: 0 }, watches, detectedAt: '2026-11-26T18:00:00.000Z',
  };
}

const docsTemplate = (file: string) => readFileSync(new URL(`../docs/templates/${file}`, import.meta.url), 'utf8');

const TEMPLATES: Array<[string, string, TemplateMode]> = [
  ['slack.json (no text/body)', docsTemplate('slack.json.mustache'), 'json'],
  ['mail subject {{headline}}', '[{{#problem}}ACTION{{/problem}}{{^problem}}ok{{/problem}}] {{headline}}', 'text'],
  ['email.txt (no text/body)', docsTemplate('email.txt.mustache'), 'text'],
  ['{{{body}}} embedded', '{"source": "ecs-action-watch", "event": {{{body}}}}', 'json'],
  ['{{{text}}} after a line', '{{headline}}\n\n{{{text}}}', 'text'],
];

/** Median milliseconds of `ROUNDS` calls, after as many to let V8 optimise. */
function median(run: () => unknown): number {
  for (let i = 0; i < ROUNDS; i++) run();
  const times = Array.from({ length: ROUNDS }, () => {
    const start = performance.now();
    run();
    return performance.now() - start;
  }).sort((a, b) => a - b);
  return times[Math.floor(ROUNDS / 2)]!;
}

const row = (what: string, run: () => unknown) => console.log(`  ${what.padEnd(36)}${median(run).toFixed(1).padStart(7)} ms`);

for (const size of sizes) {
  const n: OutgoingNotification = digest(size);
  console.log(`\n${size.toLocaleString('en')} finished watches, ${Math.round(failedShare * 100)} % failed`);
  row('viewOf, no field read', () => viewOf(n));
  row('the default mail text', () => renderEmail(n).text);
  row('the default webhook body', () => renderWebhookBody(n));
  for (const [what, source, mode] of TEMPLATES) row(`render ${what}`, () => renderTemplate(source, n, mode));
}
