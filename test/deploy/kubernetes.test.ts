// deploy/kubernetes, checked as `kubectl apply -k` would need it: every object valid against its schema,
// wired together (volumes, Secret, ports, selectors), a pod that meets the restricted profile, a watch
// file that validates with only the Secret's variables, and alert rules on metrics the daemon exports.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SHIPPED_STOP_GRACE_MS } from '../../src/config/warnings.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { ROOT, readDockerfile } from './dockerfile.ts';
import { KINDS, KUBE_DIR, documents, resource, validWatchFile } from './manifests.ts';


const kustomization = parse(readFileSync(join(KUBE_DIR, 'kustomization.yaml'), 'utf8')) as {
  resources: string[];
  images: { name: string }[];
};
const deployment = resource('Deployment');
const pod = deployment.spec!.template.spec!;
const container = pod.containers[0]!;
const podLabels = deployment.spec!.template.metadata!.labels!;
const mountOf = (volume: string) => container.volumeMounts!.find((m) => m.name === volume)!;
const volumeWith = (match: (v: NonNullable<typeof pod.volumes>[number]) => unknown) => pod.volumes!.find(match)!;

describe('the kustomize base', () => {
  it('lists every file of the folder, and only those', () => {
    const files = readdirSync(KUBE_DIR).filter((f) => f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('holds one valid object of each kind (Kubernetes and Prometheus Operator schemas)', () => {
    const kinds = documents()
      .filter((d) => d.file !== 'kustomization.yaml')
      .map((d) => d.object.kind);
    expect([...kinds].sort()).toEqual([...KINDS].sort());
    for (const kind of KINDS) expect(() => resource(kind)).not.toThrow();
  });

  it('labels every object and selects the pod by its labels, its instance among them', () => {
    // The Namespace, ServiceMonitor and PrometheusRule serve every daemon of the namespace (test/deploy/kubernetes-second.test.ts).
    for (const kind of KINDS) expect(resource(kind).metadata?.labels, kind).toMatchObject({ 'app.kubernetes.io/name': podLabels['app.kubernetes.io/name'] });
    for (const kind of ['ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Deployment', 'Service'] as const) expect(resource(kind).metadata?.labels, kind).toMatchObject(podLabels);
    expect(Object.keys(podLabels).sort()).toEqual(['app.kubernetes.io/instance', 'app.kubernetes.io/name']);
    expect(deployment.spec!.selector.matchLabels).toEqual(podLabels);
    expect(resource('Service').spec!.selector).toEqual(podLabels);
    expect(podLabels).toMatchObject(resource('ServiceMonitor').spec.selector.matchLabels!);
  });
});

describe('the Deployment', () => {
  it('runs exactly one daemon, the old one stopped before the new one starts', () => {
    expect(deployment.spec!.replicas).toBe(1);
    expect(deployment.spec!.strategy).toEqual({ type: 'Recreate' });
  });

  it('uses the image named in kustomization.yaml and starts `run`', () => {
    expect(kustomization.images.map((i) => i.name)).toEqual([container.image]);
    expect(container.args).toEqual(['run']);
    expect(container.command).toBeUndefined();
  });

  it('probes /healthz for liveness and /readyz for readiness on the metrics port', () => {
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.startupProbe?.httpGet?.path).toBe('/healthz');
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: watchFile().http.port }]);
  });

  it('lets /healthz answer 503 for two scrapes before the restart, so that the stuck gauge reaches Prometheus', () => {
    const probe = container.livenessProbe!;
    const failingForS = probe.periodSeconds! * probe.failureThreshold!;
    const scrapeS = Number.parseInt(String(resource('ServiceMonitor').spec.endpoints[0]!.interval), 10);
    // The restart ends the gauge's series: a 1 never scraped would leave EcsActionWatchPollLoopStuck silent.
    expect(failingForS).toBeGreaterThanOrEqual(2 * scrapeS);
  });

  it('asks for resources and caps memory', () => {
    expect(container.resources?.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources?.limits?.['memory']).toEqual(expect.any(String));
  });

  it('meets the restricted Pod Security Standard, as the image user, with a read-only root', () => {
    const uid = Number(readDockerfile().at(-1)!.instructions.find((i) => i.op === 'USER')!.args[0]!.split(':')[0]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(resource('Namespace').metadata!.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('gives the daemon the stop that validate holds shutdown.drainTimeout to before SIGKILL', () => {
    expect(pod.terminationGracePeriodSeconds! * 1000).toBe(SHIPPED_STOP_GRACE_MS);
  });

  it('mounts the ConfigMap as a folder (no subPath, so edits arrive) and points ECS_WATCH_CONFIG into it', () => {
    const configMap = resource('ConfigMap');
    const volume = volumeWith((v) => v.configMap?.name === configMap.metadata!.name);
    const mount = mountOf(volume.name);
    expect(mount.subPath).toBeUndefined();
    expect(mount.readOnly).toBe(true);
    const file = container.env!.find((e) => e.name === 'ECS_WATCH_CONFIG')?.value;
    expect(Object.keys(configMap.data!).map((key) => posix.join(mount.mountPath, key))).toContain(file);
  });

  it('keeps state on the PersistentVolumeClaim, where the watch file puts it', () => {
    const claim = resource('PersistentVolumeClaim');
    const volume = volumeWith((v) => v.persistentVolumeClaim?.claimName === claim.metadata!.name);
    expect(claim.spec!.accessModes).toEqual(['ReadWriteOnce']);
    expect(posix.dirname(watchFile().state.path)).toBe(mountOf(volume.name).mountPath);
  });

  it('takes every credential from the Secret as environment variables', () => {
    const secret = resource('Secret');
    expect(container.envFrom).toEqual([{ secretRef: { name: secret.metadata!.name } }]);
    // The watch file uses ${VAR} for each, and validates with nothing but these variables set.
    for (const key of Object.keys(secret.stringData!)) expect(resource('ConfigMap').data!['watch.yaml']).toContain(`\${${key}`);
    expect(watchFile().cloud.auth).toEqual({ type: 'token', token: secret.stringData!['ECS_AUTH_TOKEN'] });
  });
});

describe('metrics', () => {
  it('exposes the metrics port through the Service, scraped by the ServiceMonitor', () => {
    const [port] = resource('Service').spec!.ports!;
    expect(port).toMatchObject({ name: 'metrics', targetPort: 'metrics', port: watchFile().http.port });
    expect(resource('ServiceMonitor').spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    // A pod whose saves fail is not ready, and is the one the alerts must still see.
    expect(resource('Service').spec!.publishNotReadyAddresses).toBe(true);
  });

  const rules = resource('PrometheusRule').spec.groups!.flatMap((g) => g.rules!);

  it('alerts on a dead daemon, failing polls, a watch left unanswered, no successful poll, auto-tracking\'s listings failing with nothing pending, failing or given-up notifications, an unsaved state, an uncompacted journal, a stuck poll loop, a wait for another daemon\'s state lock, a cloud that throttles, a rejected file and clocks apart', () => {
    expect(rules.map((r) => r.alert)).toEqual([
      'EcsActionWatchDown',
      'EcsActionWatchPollsFailing',
      'EcsActionWatchWatchUnanswered',
      'EcsActionWatchNoSuccessfulPoll',
      'EcsActionWatchTrackingFailing',
      'EcsActionWatchNotificationsFailing',
      'EcsActionWatchNotificationsGivenUp',
      'EcsActionWatchStateNotSaved',
      'EcsActionWatchStateNotCompacted',
      'EcsActionWatchPollLoopStuck',
      'EcsActionWatchStateLockWaiting',
      'EcsActionWatchCloudThrottling',
      'EcsActionWatchConfigReloadFailed',
      'EcsActionWatchCloudClockApart',
    ]);
    for (const rule of rules) {
      expect(rule.labels?.['severity'], rule.alert).toMatch(/^(warning|critical)$/);
      expect(rule.annotations?.['summary'], rule.alert).toBeTruthy();
    }
  });

  it('is the README\'s table of alerts, row for row', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('Alerts (PrometheusRule'), readme.indexOf('\n\n', readme.indexOf('| alert | fires when |')));
    expect([...table.matchAll(/^\| `(EcsActionWatch\w+)` \((warning|critical)\)/gm)].map((m) => [m[1], m[2]])).toEqual(rules.map((r) => [r.alert, r.labels?.['severity']]));
  });

  it('writes every expression in valid PromQL, on metrics, labels and label values the daemon exports', async () => {
    for (const rule of rules) await expectExported(String(rule.alert), String(rule.expr));
  });

  // A failing notifier's alert says why, from the reason label: a receiver down, throttling or refusing the signature.
  it('names in the notification alerts\' descriptions the reasons they failed for, by queries in valid PromQL on what the daemon exports', async () => {
    for (const alert of ['EcsActionWatchNotificationsFailing', 'EcsActionWatchNotificationsGivenUp']) {
      const description = String(rules.find((r) => r.alert === alert)!.annotations!['description']);
      const queries = [...description.matchAll(/printf `([^`]+)`((?: \$labels\.\w+)*) \| query \}\}/g)];
      expect(queries, alert).toHaveLength(1);
      const [, query, args] = queries[0]!;
      expect(query, alert).toMatch(/^sum by \(reason\) \(increase\(ecs_action_watch_notifications_total\{/);
      // prom-client throws for a label the metric was not declared with.
      expect(() => createMetrics().registry.getSingleMetric('ecs_action_watch_notifications_total')!.labels({ reason: 'timeout' }), alert).not.toThrow();
      // Each %s is the alert's label of the matcher it fills, as the rule's expression sums by them.
      expect([...query!.matchAll(/(\w+)="%s"/g)].map((m) => m[1]), alert).toEqual(args!.trim().split(' ').map((a) => a.slice('$labels.'.length)));
      await expectExported(alert, query!.replaceAll('%s', TEMPLATED));
    }
  });

  // scripts/check-alerts.ts runs them with promtool (apt, so outside npm test); here, what needs none.
  const promtoolTests = (parse(readFileSync(join(ROOT, 'test', 'deploy', 'alerts.promtool.yaml'), 'utf8')) as PromtoolTests).tests;

  it('has promtool tests whose input series are the daemon\'s metrics, and a case where each alert fires', async () => {
    for (const { name, input_series } of promtoolTests) {
      for (const { series } of input_series) await expectExported(name, series);
    }
    const firing = new Set(promtoolTests.flatMap((t) => (t.alert_rule_test ?? []).filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname)));
    expect([...firing].sort()).toEqual(rules.map((r) => r.alert).sort());
  });
});

/** test/deploy/alerts.promtool.yaml, as much of it as is read here. */
interface PromtoolTests {
  tests: { name: string; input_series: { series: string }[]; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

/** What a query in an alert's template holds where the alert's labels fill it. */
const TEMPLATED = '{{templated}}';

/** `expr` parses as PromQL, on metrics, labels and label values the daemon exports. */
async function expectExported(alert: string, expr: string): Promise<void> {
  const { registry } = createMetrics({ defaultMetrics: true });
  // Labels Prometheus adds when it scrapes (target labels), not the daemon.
  const scrapeLabels = new Set(['job', 'namespace', 'pod', 'instance', 'service', 'endpoint']);
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const selectors: { metric: string; matchers: { label: string; value: string }[] }[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(`at ${node.from}: ${expr.slice(node.from, node.from + 30)}`);
      if (node.name !== 'VectorSelector') return;
      const metric = node.node.getChild('Identifier');
      const matchers = node.node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? [];
      selectors.push({
        metric: metric ? expr.slice(metric.from, metric.to) : '',
        matchers: matchers.map((m) => ({
          label: expr.slice(m.getChild('LabelName')!.from, m.getChild('LabelName')!.to),
          value: JSON.parse(expr.slice(m.getChild('StringLiteral')!.from, m.getChild('StringLiteral')!.to)) as string,
        })),
      });
    },
  });
  expect(errors, `${alert}: ${expr}`).toEqual([]);
  for (const { metric, matchers } of selectors.filter((s) => s.metric !== 'up')) {
    const found = registry.getSingleMetric(metric);
    expect(found, `${alert}: ${metric} is not exported by createMetrics()`).toBeDefined();
    for (const { label, value } of matchers.filter((m) => !scrapeLabels.has(m.label))) {
      // prom-client throws for a label the metric was not declared with.
      expect(() => found!.labels({ [label]: value }), `${alert}: ${metric}{${label}}`).not.toThrow();
      // A notifier's name is the watch file's, not a value the daemon's help can list.
      if (value === TEMPLATED || label === 'notifier') continue;
      // Each metric's help lists its label values, e.g. "by result (pending, finished, not_found, error)".
      const help = (await registry.getMetricsAsJSON()).find((m) => m.name === metric)!.help;
      expect(help, `${alert}: ${metric}{${label}="${value}"}: its help lists no such value`).toMatch(new RegExp(`\\b${value}\\b`));
    }
  }
}

/** The ConfigMap's watch file, validated with only the Secret's and the Deployment's variables set. */
function watchFile() {
  return validWatchFile(resource('ConfigMap').data!['watch.yaml']!, 'the ConfigMap');
}
