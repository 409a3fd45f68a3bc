import { BlockList, isIP } from 'node:net';

// Loopback addresses written as such: a name, even localhost, is looked up (in DNS too, by nodemailer), and
// whoever answers that lookup would get what is sent. Made at the first use: `validate` loads the modules
// that ask this, and a BlockList at load would load node:net (8-10 ms) for a command that opens no socket.
let loopback: BlockList | undefined;

/** Whether `host` (a URL's hostname, an IPv6 one in brackets or not) is a loopback address: what goes there stays on this machine. */
export function isLoopbackAddress(host: string): boolean {
  const address = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(address);
  if (family === 0) return false;
  if (loopback === undefined) {
    loopback = new BlockList();
    loopback.addSubnet('127.0.0.0', 8, 'ipv4');
    loopback.addAddress('::1', 'ipv6');
    loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
  }
  return loopback.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The host that `url` sends to in the clear (http://), for a warning about a credential sent there;
 * undefined for https://, or for a loopback address (a local proxy that adds TLS).
 */
export function hostInClear(url: string): string | undefined {
  const parsed = URL.parse(url);
  return parsed === null || parsed.protocol !== 'http:' || isLoopbackAddress(parsed.hostname) ? undefined : parsed.host;
}

/** Said of a setting whose http:// URL sends `what` (a credential) to `host` (hostInClear). */
export function sentInClear(what: string, host: string): string {
  return `http:// sends ${what} in the clear to ${host}, for anyone on the network between to read and use: write https:// (a loopback address, such as a local proxy that adds TLS, is not warned of)`;
}
