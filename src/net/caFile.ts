import { fileProblem } from '../files/fileProblem.ts';
import { readRegularFileSync } from '../files/readRegularFile.ts';

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
// A bundle of every public CA is about 200 KiB.
const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The PEM text of a CA file (`cloud.tls.caFile`, a clouds.yaml's `cacert`); throws a message that names
 * the key and the file when it cannot be read or holds no certificate. Without node:tls, so that
 * `validate` can check the file without loading TLS.
 */
export function readCaFile(caFile: string, key = 'cloud.tls.caFile'): string {
  let pem: string;
  try {
    pem = readRegularFileSync(caFile, MAX_CA_FILE_BYTES);
  } catch (err) {
    throw new Error(`cannot read ${key} ${caFile}: ${fileProblem(err)}`, { cause: err });
  }
  if (!pem.includes(PEM_CERTIFICATE)) throw new Error(`${key} ${caFile} holds no PEM certificate (${PEM_CERTIFICATE} ...)`);
  return pem;
}
