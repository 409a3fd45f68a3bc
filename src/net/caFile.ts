import { X509Certificate } from 'node:crypto';
import { fileProblem } from '../files/fileProblem.ts';
import { readRegularFileSync } from '../files/readRegularFile.ts';

const PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[^]*?(?:-----END CERTIFICATE-----|(?=-----BEGIN CERTIFICATE-----)|$)/g;
// A bundle of every public CA is about 200 KiB.
const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The PEM text of a CA file (`cloud.tls.caFile`, a clouds.yaml's `cacert`); throws a message that names
 * the key and the file when it cannot be read, holds no certificate or holds one that cannot be read.
 * Without node:tls, so that `validate` can check the file without loading TLS.
 */
export function readCaFile(caFile: string, key = 'cloud.tls.caFile'): string {
  const pem = readPem(caFile, key);
  const damaged = damagedCertificates(pem);
  if (damaged.length > 0) {
    throw new Error(`${key} ${caFile} holds ${damaged.join('; ')}: the file was cut short or changed on its way; copy it again from its source`);
  }
  return pem;
}

/** The text of a file that holds PEM certificates; throws a message that names the key and the file. */
function readPem(caFile: string, key: string): string {
  let pem: string;
  try {
    pem = readRegularFileSync(caFile, MAX_CA_FILE_BYTES);
  } catch (err) {
    throw new Error(`cannot read ${key} ${caFile}: ${fileProblem(err)}`, { cause: err });
  }
  if (!pem.includes(PEM_CERTIFICATE)) throw new Error(`${key} ${caFile} holds no PEM certificate (${PEM_CERTIFICATE} ...)`);
  return pem;
}

/**
 * What is wrong with the file NODE_EXTRA_CA_CERTS names, if anything. Node reads it at the first TLS
 * connection and, when it cannot, writes one plain line to stderr and goes on without it: every server
 * that CA signs is then refused, with the hint to name the CA in cloud.tls.caFile. Read, not parsed
 * certificate by certificate: a system bundle holds a hundred and more, and `validate` stays fast.
 */
export function extraCaCertsProblem(path: string): string | undefined {
  try {
    readPem(path, 'NODE_EXTRA_CA_CERTS');
    return undefined;
  } catch (err) {
    return `${(err as Error).message}: Node leaves it out, and refuses a server whose certificate its CA signs`;
  }
}

/**
 * The certificates of a PEM text that cannot be read, each with its line. Node's TLS leaves such a
 * certificate out without a word, so a damaged CA file would show only as every connection it should
 * verify being refused, under the name of the server's certificate ("self-signed certificate").
 */
function damagedCertificates(pem: string): string[] {
  const damaged: string[] = [];
  let number = 0;
  for (const { 0: block, index } of pem.matchAll(PEM_BLOCK)) {
    number += 1;
    const problem = certificateProblem(block);
    if (problem !== undefined) damaged.push(`certificate ${number} (line ${pem.slice(0, index).split('\n').length}) ${problem}`);
  }
  return damaged;
}

function certificateProblem(block: string): string | undefined {
  if (!block.includes('-----END CERTIFICATE-----')) return 'without its -----END CERTIFICATE----- line';
  try {
    new X509Certificate(block);
    return undefined;
  } catch (err) {
    // OpenSSL's code number says nothing to an operator; its words do ("PEM routines::bad base64 decode").
    return `that cannot be read (${(err as Error).message.replace(/^error:[0-9A-F]+:/, '')})`;
  }
}
