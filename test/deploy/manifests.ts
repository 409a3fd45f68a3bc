// The kustomize base in deploy/kubernetes, read as the API server would see each object: parsed with
// `yaml` and checked against the Kubernetes (and Prometheus Operator) OpenAPI schemas, offline.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './dockerfile.ts';

export const KUBE_DIR = join(ROOT, 'deploy', 'kubernetes');

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
