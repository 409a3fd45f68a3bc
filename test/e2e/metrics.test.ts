import { expect, it, vi } from 'vitest';
import { targetsOf, type App } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { PROJECT, harnessOnFakeClock, newIds } from './harness.ts';

const env = harnessOnFakeClock();

async function pass(app: App, ms = 1000): Promise<void> {
  vi.setSystemTime(Date.now() + ms);
  await app.engine.pollOnce();
  await app.outbox.flush();
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
  env.h.simulator.setToken(undefined);
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
  expect(m('notifications_total{notifier="chat",result="given_up"}')).toBe(1);
  expect(m('notifications_total{notifier="ops-mail",result="delivered"}')).toBe(1);
  expect(m('deliveries{state="given_up"}')).toBe(1);
  expect(m('deliveries{state="delivered"}')).toBe(1);
  expect(m('deliveries{state="pending"}')).toBe(0);
  expect(m('delivery_duration_seconds_count{notifier="chat"}')).toBe(1);
  expect(m('poll_duration_seconds_count')).toBe(5);
  expect(m('last_successful_poll_timestamp_seconds')).toBeGreaterThan(0);
  expect(text).toMatch(/^ecs_action_watch_build_info\{version="\d+\.\d+\.\d+",node_version="[\d.]+"\} 1$/m);
});

it('exports each notifier\'s notification series at 0 before its first attempt, so that a first give-up is an increase', async () => {
  // After a restart the counters start afresh under the same instance: a series that appeared only at its
  // first give-up, at 1, would look to increase() like the 1 the previous process ended with.
  const app = await env.h.app(env.h.yaml([{ ...newIds(), name: 'pending' }]));
  const text = await app.metrics.registry.metrics();
  const m = (series: string) => sample(text, `ecs_action_watch_${series}`);
  for (const notifier of ['chat', 'ops-mail']) {
    for (const result of ['delivered', 'retry', 'given_up']) expect(m(`notifications_total{notifier="${notifier}",result="${result}"}`), `${notifier} ${result}`).toBe(0);
  }
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
