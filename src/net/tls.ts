import { getCACertificates } from 'node:tls';
import { readCaFile } from './caFile.ts';

/**
 * The certificates to trust: Node's own (its bundle, NODE_EXTRA_CA_CERTS, the system's with
 * --use-system-ca) plus those in `caFile`, a company's private CA. Undefined without a file: the defaults
 * as they are. Read once, at start, so that a wrong path stops the daemon with its name.
 */
export function trustedCertificates(caFile: string | undefined, key = 'cloud.tls.caFile'): string[] | undefined {
  if (caFile === undefined) return undefined;
  return [...getCACertificates('default'), readCaFile(caFile, key)];
}
