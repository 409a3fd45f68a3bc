// deploy/kubernetes-second, the overlay for a second watch file, read with the base the way kustomize builds
// it: two daemons side by side in one namespace, each of which must select, keep and be scraped as its own.
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KINDS, overlay, overlayPatches, resource, validWatchFile } from './manifests.ts';

const second = overlay();
const deployment = resource('Deployment');
const service = resource('Service');
const podLabels = deployment.spec!.template.metadata!.labels!;
const container = deployment.spec!.template.spec!.containers[0]!;

/**
 * What the overlay makes of a base object's labels (`selectors`: of a Deployment's or a Service's selector, or
 * a pod template's labels): kustomize's `labels` sets its pairs over them, in selectors and templates only
 * with includeSelectors.
 */
function inSecond(labels: Record<string, string>, selectors = false): Record<string, string> {
  const pairs = (second.labels ?? []).filter((l) => !selectors || l.includeSelectors).map((l) => l.pairs);
  return Object.assign({ ...labels }, ...pairs) as Record<string, string>;
}

const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('a second daemon (deploy/kubernetes-second) beside the base\'s, in its namespace', () => {
  it('builds on the base, every name with a suffix', () => {
    expect(second.resources).toEqual(['../kubernetes']);
    expect(second.nameSuffix).toMatch(/^-[a-z0-9-]+$/);
  });

  it('has a pod that only its own Deployment and Service select, and leaves the first daemon\'s pod to the first\'s', () => {
    const secondPod = inSecond(podLabels, true);
    for (const [kind, selector] of [['Deployment', deployment.spec!.selector.matchLabels!], ['Service', service.spec!.selector!]] as const) {
      expect(selects(selector, podLabels), kind).toBe(true);
      expect(selects(inSecond(selector, true), secondPod), kind).toBe(true);
      expect(selects(selector, secondPod), `the first daemon's ${kind} selects the second's pod`).toBe(false);
      expect(selects(inSecond(selector, true), podLabels), `the second daemon's ${kind} selects the first's pod`).toBe(false);
    }
    // Named as its objects are (the Service's name is the metrics' job): a copy for a third changes both.
    expect(secondPod['app.kubernetes.io/instance']).toBe(`${podLabels['app.kubernetes.io/instance']}${second.nameSuffix}`);
  });

  it('keeps its state on a volume of its own', () => {
    // The suffix renames the claim and the Deployment's reference to it together; a patch of either would not.
    const claim = resource('PersistentVolumeClaim').metadata!.name;
    expect(deployment.spec!.template.spec!.volumes!.map((v) => v.persistentVolumeClaim?.claimName)).toContain(claim);
    expect(overlayPatches().filter((p) => p.kind === 'PersistentVolumeClaim' || JSON.stringify(p).includes('"persistentVolumeClaim"'))).toEqual([]);
    const state = container.volumeMounts!.find((m) => m.name === deployment.spec!.template.spec!.volumes!.find((v) => v.persistentVolumeClaim)!.name)!;
    expect(posix.dirname(secondWatchFile().state.path)).toBe(state.mountPath);
  });

  it('is scraped once, by the base\'s ServiceMonitor under a job of its own, and alerted on once, by the base\'s rules', () => {
    expect(deleted()).toEqual(expect.arrayContaining([`ServiceMonitor/${resource('ServiceMonitor').metadata!.name}`, `PrometheusRule/${resource('PrometheusRule').metadata!.name}`]));
    // The ServiceMonitor selects the Services (not pods) of every instance; Prometheus names the job after the Service.
    const monitor = resource('ServiceMonitor').spec.selector.matchLabels!;
    expect(selects(monitor, service.metadata!.labels!)).toBe(true);
    expect(selects(monitor, inSecond(service.metadata!.labels!))).toBe(true);
    const jobs = [service.metadata!.name!, `${service.metadata!.name!}${second.nameSuffix}`];
    const rules = resource('PrometheusRule').spec.groups!.flatMap((g) => g.rules!);
    const patterns = rules.flatMap((r) => [...String(r.expr).matchAll(/job=~"([^"]+)"/g)].map((m) => m[1]!));
    expect(patterns).not.toEqual([]);
    // Prometheus anchors a regular expression matcher at both ends.
    for (const pattern of patterns) for (const job of jobs) expect(job, pattern).toMatch(new RegExp(`^(?:${pattern})$`));
  });

  it('holds its own daemon\'s objects only, the Namespace left to the base: deleting them deletes nothing of the first daemon', () => {
    const own = KINDS.filter((kind) => !deleted().includes(`${kind}/${resource(kind).metadata!.name}`));
    expect(own.sort()).toEqual(['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'Secret', 'Service']);
  });

  it('has a watch file of its own, which validates with the Secret\'s variables, on the port of the probes', () => {
    expect(secondWatchFile().http.port).toBe(container.ports![0]!.containerPort);
  });
});

/** `Kind/name` of each base object the overlay deletes (a `$patch: delete` patch). */
function deleted(): string[] {
  return overlayPatches()
    .filter((p) => p['$patch'] === 'delete')
    .map((p) => `${String(p.kind)}/${(p['metadata'] as { name: string }).name}`);
}

/** The overlay's watch file, in its patch of the base's ConfigMap. */
function secondWatchFile() {
  const configMap = resource('ConfigMap').metadata!.name;
  const patch = overlayPatches().find((p) => p.kind === 'ConfigMap' && (p['metadata'] as { name: string }).name === configMap);
  return validWatchFile((patch?.['data'] as Record<string, string> | undefined)?.['watch.yaml'] ?? '', 'deploy/kubernetes-second/configmap.yaml');
}
