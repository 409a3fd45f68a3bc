import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A private CA (`caFile`, its PEM) and a certificate it signs for 127.0.0.1, made in `dir` with the machine's
 * openssl. `caKeyUsage`: the CA's keyUsage extension (none by default, which allows every use).
 */
export function makeCertificates(dir: string, { caKeyUsage }: { caKeyUsage?: string } = {}): { caFile: string; key: string; cert: string } {
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const usage = caKeyUsage === undefined ? [] : ['-addext', `keyUsage=${caKeyUsage}`];
  openssl('req', '-x509', ...ec, ...usage, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '2', '-subj', '/CN=ecs-action-watch test private CA');
  openssl('req', ...ec, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(at('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('server.pem'), '-days', '2', '-extfile', at('san.ext'));
  return { caFile: at('ca.pem'), key: readFileSync(at('server.key'), 'utf8'), cert: readFileSync(at('server.pem'), 'utf8') };
}
