import { getCACertificates } from 'node:tls';
import { fileProblem } from '../files/fileProblem.ts';
import { readRegularFileSync } from '../files/readRegularFile.ts';

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
// A bundle of every public CA is about 200 KiB.
const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The certificates to trust: Node's own (its bundle, NODE_EXTRA_CA_CERTS, the system's with
 * --use-system-ca) plus those in `caFile`, a company's private CA. Undefined without a file: the defaults
 * as they are. Read once, at start, so that a wrong path stops the daemon with its name.
 */
export function trustedCertificates(caFile: string | undefined, key = 'cloud.tls.caFile'): string[] | undefined {
  if (caFile === undefined) return undefined;
  let pem: string;
  try {
    pem = readRegularFileSync(caFile, MAX_CA_FILE_BYTES);
  } catch (err) {
    throw new Error(`cannot read ${key} ${caFile}: ${fileProblem(err)}`, { cause: err });
  }
  if (!pem.includes(PEM_CERTIFICATE)) throw new Error(`${key} ${caFile} holds no PEM certificate (${PEM_CERTIFICATE} ...)`);
  return [...getCACertificates('default'), pem];
}
