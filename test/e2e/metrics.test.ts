import { expect, it, onTestFinished, vi } from 'vitest';
import { targetsOf, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { DELIVERY_REASONS } from '../../src/notify/DeliveryError.ts';
import type { PrometheusMetrics } from '../../src/observability/metrics.ts';
import { startWebhookSink } from '../../src/sinks/webhookSink.ts';
import { POLL_ERROR_KINDS } from '../../src/watch/pollFailures.ts';
import { PROJECT, harnessOnFakeClock, newIds, quickAction } from './harness.ts';

const env = harnessOnFakeClock();

async function pass(app: App, ms = 1000): Promise<void> {
  vi.setSystemTime(Date.now() + ms);
  await app.engine.pollOnce();
  await app.outbox.flush();
}

/** The gauge behind EcsActionWatchWatchUnanswered, as a scrape now reads it. */
async function longestFailing(app: { metrics: PrometheusMetrics }): Promise<number | undefined> {
  return sample(await app.metrics.registry.metrics(), 'ecs_action_watch_longest_failing_watch_seconds');
}

/** The value of one sample in Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

it('counts watches by state, polls by result and error kind, verdicts by action, deliveries and their latency', async () => {
  const reboot = { projectId: PROJECT, ...newIds(), action: 'reboot', steps: [{ event: 'compute_reboot_instance', durationMs: 500 }] };
  env.h.simulator.addAction(reboot);
  env.h.hooks.failNext(400);
  const app = await env.h.app(env.h.yaml([{ ...reboot, name: 'reboot' }, { ...newIds(), name: 'ghost' }]));

  env.h.simulator.setToken('another-token');
  await pass(app);
  // Polls are handed to prom-client at each scrape: one in between must count none twice, nor lose any.
  const between = await app.metrics.registry.metrics();
  expect(sample(between, 'ecs_action_watch_polls_total{result="error"}')).toBe(2);
  expect(sample(between, 'ecs_action_watch_last_successful_poll_timestamp_seconds')).toBe(0);
  env.h.simulator.setToken(undefined);
  const answeredFrom = Date.now() / 1000;
  await pass(app);
  await pass(app);
  const text = await app.metrics.registry.metrics();

  const m = (series: string) => sample(text, `ecs_action_watch_${series}`);
  expect(m('poll_errors_total{kind="unauthorized"}')).toBe(2);
  expect(m('polls_total{result="error"}')).toBe(2);
  expect(m('polls_total{result="finished"}')).toBe(1);
  expect(m('polls_total{result="not_found"}')).toBe(2);
  expect(m('verdicts_total{outcome="success",action="reboot"}')).toBe(1);
  expect(m('watches{state="success"}')).toBe(1);
  expect(m('watches{state="pending"}')).toBe(1);
  expect(m('watches{state="failure"}')).toBe(0);
  expect(m('notifications_total{notifier="chat",result="given_up",reason="refused"}')).toBe(1);
  expect(m('notifications_total{notifier="ops-mail",result="delivered"}')).toBe(1);
  expect(m('deliveries{state="given_up"}')).toBe(1);
  expect(m('deliveries{state="delivered"}')).toBe(1);
  expect(m('deliveries{state="pending"}')).toBe(0);
  expect(m('delivery_duration_seconds_count{notifier="chat"}')).toBe(1);
  expect(m('poll_duration_seconds_count')).toBe(5);
  expect(m('last_successful_poll_timestamp_seconds')).toBeGreaterThanOrEqual(answeredFrom);
  expect(m('last_successful_poll_timestamp_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
  expect(text).toMatch(/^ecs_action_watch_build_info\{version="\d+\.\d+\.\d+",node_version="[\d.]+"\} 1$/m);
});

it('exports every kind of poll error at 0 before the first, so that the first of each kind is an increase', async () => {
  // README's `increase(ecs_action_watch_poll_errors_total[15m]) > 0` saw no first error of a kind: its series began at 1.
  const app = await env.h.app(env.h.yaml([{ ...newIds(), name: 'pending' }]));
  const text = await app.metrics.registry.metrics();
  for (const kind of POLL_ERROR_KINDS) expect(sample(text, `ecs_action_watch_poll_errors_total{kind="${kind}"}`), kind).toBe(0);
});

it('exports each notifier\'s notification series at 0 before its first attempt, so that a first give-up is an increase', async () => {
  // After a restart the counters start afresh under the same instance: a series that appeared only at its
  // first give-up, at 1, would look to increase() like the 1 the previous process ended with.
  const app = await env.h.app(env.h.yaml([{ ...newIds(), name: 'pending' }]));
  const text = await app.metrics.registry.metrics();
  const m = (series: string) => sample(text, `ecs_action_watch_${series}`);
  for (const notifier of ['chat', 'ops-mail']) {
    expect(m(`notifications_total{notifier="${notifier}",result="delivered"}`), `${notifier} delivered`).toBe(0);
    for (const result of ['retry', 'given_up']) {
      for (const reason of DELIVERY_REASONS) expect(m(`notifications_total{notifier="${notifier}",result="${result}",reason="${reason}"}`), `${notifier} ${result} ${reason}`).toBe(0);
    }
  }
});

it('labels each failed attempt with why it failed: a receiver that times out, throttles, refuses the login or fails', async () => {
  // Only the receiver that answers too late has a short timeout: the others answer from this process, which a
  // loaded machine leaves waiting, and a 429, 401 or 500 that came after 200 ms was counted as a timeout.
  const receivers: Record<string, { status?: number; delayMs?: number; timeout?: string }> = { slow: { delayMs: 5_000, timeout: '200ms' }, busy: { status: 429 }, locked: { status: 401 }, broken: { status: 500 } };
  const sinks = await Promise.all(Object.values(receivers).map(() => startWebhookSink()));
  onTestFinished(() => Promise.all(sinks.map((s) => s.close())).then(() => undefined));
  const notifiers = Object.entries(receivers).map(([name, { timeout = '10s', ...answer }], i) => {
    sinks[i]!.setAnswer(answer);
    return `  ${name}:\n    type: webhook\n    url: ${sinks[i]!.url}\n    timeout: ${timeout}`;
  });
  const reboot = quickAction();
  env.h.simulator.addAction(reboot);
  const app = await env.h.app(env.h.yaml([{ ...reboot, name: 'reboot' }], { notifiers: notifiers.join('\n') }));
  await pass(app);
  await pass(app);

  const text = await app.metrics.registry.metrics();
  // The series that counted an attempt (as many as the passes made: those retried soon after are tried again).
  const counted = text.split('\n').filter((l) => l.startsWith('ecs_action_watch_notifications_total{') && !l.endsWith(' 0'));
  expect(counted.map((l) => l.slice('ecs_action_watch_notifications_total'.length, l.lastIndexOf(' '))).sort()).toEqual([
    '{notifier="broken",result="retry",reason="server"}',
    '{notifier="busy",result="retry",reason="throttled"}',
    '{notifier="locked",result="given_up",reason="refused"}',
    '{notifier="slow",result="retry",reason="timeout"}',
  ]);
  // Every reason's series is there from the start, at 0, and delivered has no reason: summed by notifier and
  // result, as the alert rules do, the counts are what they were without the label.
  const m = (series: string) => sample(text, `ecs_action_watch_${series}`);
  expect(m('notifications_total{notifier="locked",result="retry",reason="refused"}')).toBe(0);
  expect(m('notifications_total{notifier="locked",result="given_up",reason="timeout"}')).toBe(0);
  expect(m('notifications_total{notifier="locked",result="delivered"}')).toBe(0);
});

it('says how long the watch failing longest has gone unanswered, however few watches fail, until it is answered or leaves the file', async () => {
  const long = [{ event: 'compute_resize_instance', durationMs: 3_600_000 }];
  const failing = { projectId: PROJECT, ...newIds(), action: 'resize', steps: long };
  const answered = { projectId: PROJECT, ...newIds(), action: 'resize', steps: long };
  env.h.simulator.addAction(failing);
  env.h.simulator.addAction(answered);
  const watches = [{ ...failing, name: 'failing' }, { ...answered, name: 'answered' }];
  const app = await env.h.app(env.h.yaml(watches, { poll: '  schedule: "* * * * * *"\n  retries: 0' }));
  const longest = async () => sample(await app.metrics.registry.metrics(), 'ecs_action_watch_longest_failing_watch_seconds');

  await pass(app);
  expect(await longest()).toBe(0);
  env.h.simulator.injectFault({ kind: 'unavailable' }, { pathIncludes: failing.requestId, times: 4 });
  await pass(app);
  await pass(app, 30_000);
  await pass(app, 30_000);
  // Scraped later than the last pass: the age counts to the scrape.
  vi.setSystemTime(Date.now() + 5_000);
  expect(await longest()).toBe(65);
  await pass(app);
  await pass(app);
  expect(await longest()).toBe(0);

  env.h.simulator.injectFault({ kind: 'unavailable' }, { pathIncludes: failing.requestId, times: 10 });
  await pass(app);
  await pass(app, 10_000);
  expect(await longest()).toBe(10);
  app.engine.setWatches(targetsOf(parseConfig(env.h.yaml(watches.slice(1)), { env: env.h.env })));
  expect(await longest()).toBe(0);
});

it('counts a watch\'s failed polls on from the first across a restart and a reload that rebuilds the parts, writing nothing for it', async () => {
  const failing = { projectId: PROJECT, ...newIds(), action: 'resize', steps: [{ event: 'compute_resize_instance', durationMs: 3_600_000 }] };
  env.h.simulator.addAction(failing);
  const poll = '  schedule: "* * * * * *"\n  retries: 0';
  const watches = [{ ...failing, name: 'failing' }];
  const yaml = env.h.yaml(watches, { poll });
  // One 500 for each poll below but the last, which is answered.
  env.h.simulator.injectFault({ kind: 'server-error' }, { pathIncludes: failing.requestId, times: 5 });

  const first = await env.h.app(yaml);
  await pass(first);
  await pass(first, 10 * 60_000);
  expect(await longestFailing(first)).toBe(600);
  await first.close();

  // Restarted ten minutes later (a pod rescheduled): a new process's metrics, the same state file. The
  // downtime is no failed poll: nothing counts until the new process's first poll fails too, and then
  // the count goes on from the first failure before the restart.
  vi.setSystemTime(Date.now() + 10 * 60_000);
  const second = await env.h.app(yaml);
  expect(await longestFailing(second)).toBe(0);
  await pass(second, 60_000);
  expect(await longestFailing(second)).toBe(1260);
  const writes = await stateWrites(second);
  await pass(second, 60_000);
  expect(await longestFailing(second)).toBe(1320);
  // Failing on is no change: the failed run's start was saved with the first failure's lastError.
  expect(await stateWrites(second)).toBe(writes);
  await second.close();

  // An edit outside watches and track rebuilds the parts, on the daemon's metrics.
  const third = await env.h.app(env.h.yaml(watches, { poll: `${poll}\n  concurrency: 2` }), { metrics: second.metrics });
  await pass(third, 9 * 60_000);
  // Past the alert's 30 minutes, which no part of this count alone reached.
  expect(await longestFailing(third)).toBe(1860);
  await pass(third);
  expect(await longestFailing(third)).toBe(0);
  await third.close();

  const fourth = await env.h.app(yaml);
  expect(await longestFailing(fourth)).toBe(0);
});

/** Durable writes of the state so far, journal and snapshot. */
async function stateWrites(app: { metrics: PrometheusMetrics }): Promise<number> {
  const metric = await app.metrics.registry.getSingleMetric('ecs_action_watch_state_writes_total')!.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

it('counts auto-tracking\'s failed listings, with no watch pending, in poll_errors_total alone: the series EcsActionWatchTrackingFailing reads, which no poll counts', async () => {
  // Tracked from before the action began: it is no watch, and nothing is pending.
  const action = quickAction({ neverFinishes: true });
  env.h.simulator.addAction(action);
  const app = await env.h.app(env.h.yaml([], { poll: '  schedule: "* * * * * *"\n  retries: 0', track: `  - servers: [${action.serverId}]` }));
  await pass(app);
  env.h.simulator.injectFault({ kind: 'unavailable' }, { route: 'actions', times: 3 });
  for (let i = 0; i < 3; i++) await pass(app, 15_000);
  const text = await app.metrics.registry.metrics();
  const m = (series: string) => sample(text, `ecs_action_watch_${series}`);
  expect(m('poll_errors_total{kind="server"}')).toBe(3);
  expect(m('watches{state="pending"}')).toBe(0);
  expect(m('longest_failing_watch_seconds')).toBe(0);
  expect(text).not.toMatch(/^ecs_action_watch_polls_total\{/m);
});
