import { getCACertificates } from 'node:tls';

/**
 * The certificates to trust: Node's own (its bundle, NODE_EXTRA_CA_CERTS, the system's with
 * --use-system-ca) plus `ca`, a company's private CA (PEM), as the load of the watch file read it from
 * `cloud.tls.caFile`. Undefined without one: the defaults as they are.
 */
export function trustedCertificates(ca: string | undefined): string[] | undefined {
  if (ca === undefined) return undefined;
  return [...getCACertificates('default'), ca];
}
