// The kustomize base in deploy/kubernetes, read as the API server would see each object: parsed with
// `yaml` and checked against the Kubernetes (and Prometheus Operator) OpenAPI schemas, offline; and the
// overlay for a second daemon, deploy/kubernetes-second, as kustomize reads it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { validateConfigText } from '../../src/config/load.ts';
import { ROOT } from './dockerfile.ts';

export const KUBE_DIR = join(ROOT, 'deploy', 'kubernetes');
const SECOND_DIR = join(ROOT, 'deploy', 'kubernetes-second');

const MODELS = { Namespace, ConfigMap, Secret, PersistentVolumeClaim, Service, Deployment, ServiceMonitor, PrometheusRule };
export type Kind = keyof typeof MODELS;
export const KINDS = Object.keys(MODELS) as Kind[];

export interface Document {
  file: string;
  object: { apiVersion?: unknown; kind?: unknown; [key: string]: unknown };
}

/** Every document of every YAML file in the folder; a YAML error throws with the file's name. */
export function documents(): Document[] {
  return readdirSync(KUBE_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(KUBE_DIR, file), 'utf8')).map((doc) => {
        if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
        return { file, object: doc.toJS() as Document['object'] };
      }),
    );
}

/** The one object of `kind`, validated against its schema (the model's validate() throws on a bad field). */
export function resource<K extends Kind>(kind: K): InstanceType<(typeof MODELS)[K]> {
  const found = documents().filter((d) => d.object.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind} in deploy/kubernetes, found ${found.length}`);
  const Model = MODELS[kind] as unknown as new (data: unknown) => InstanceType<(typeof MODELS)[K]>;
  const model = new Model(found[0]!.object);
  model.validate();
  return model;
}

/** A watch file as the Deployment runs it: validated with only the Secret's and the Deployment's variables set. */
export function validWatchFile(text: string, where: string) {
  const env = {
    ...resource('Secret').stringData,
    ...Object.fromEntries(resource('Deployment').spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value ?? ''])),
  };
  const result = validateConfigText(text, { env });
  if (!result.ok) throw new Error(`${where}'s watch.yaml is invalid: ${JSON.stringify(result.issues)}`);
  return result.config;
}

/** deploy/kubernetes-second/kustomization.yaml, as much of it as is read here. */
interface Overlay {
  resources: string[];
  nameSuffix: string;
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  patches?: ({ path: string } | { patch: string })[];
}

export function overlay(): Overlay {
  return parse(readFileSync(join(SECOND_DIR, 'kustomization.yaml'), 'utf8')) as Overlay;
}

/** The object of each of the overlay's patches, from its file or written inline. */
export function overlayPatches(): Document['object'][] {
  return (overlay().patches ?? []).map((p) => parse('path' in p ? readFileSync(join(SECOND_DIR, p.path), 'utf8') : p.patch) as Document['object']);
}
