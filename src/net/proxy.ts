// The proxy of the environment (HTTPS_PROXY, HTTP_PROXY) as undici uses it, and what to say when a request
// fails at the proxy rather than at the server it was for: undici's words ("Proxy response (403) !== 200
// when HTTP Tunneling", "connect ECONNREFUSED <the proxy's address>") name neither the variable nor the fix,
// and a failure described with the server's address sends the operator to a server that is fine.
import { BlockList, isIP } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { basicCredentials } from './basicCredentials.ts';
import { percentDecode } from './percentDecode.ts';
import { ProxyVariableError } from './ProxyVariableError.ts';

/** What EnvHttpProxyAgent reads for its proxies, each scheme's lower-case name first (NO_PROXY matters only with one of them). */
export const PROXY_VARIABLES = {
  http: ['http_proxy', 'HTTP_PROXY'],
  https: ['https_proxy', 'HTTPS_PROXY'],
} as const;

/** The one of a scheme's two variables that undici reads: the lower-case one when it is set at all, even empty. */
function proxyVariableName([lower, upper]: readonly [string, string], env: NodeJS.ProcessEnv = process.env): string {
  return env[lower] !== undefined ? lower : upper;
}

/**
 * The credentials the proxy variables hold, in the forms an answer may quote them: a proxy that answers in
 * the server's place (its 502 page) may repeat the request it got, Proxy-Authorization included, which
 * undici makes from the URL's user and password (Basic). Each variable's whole value, its password as
 * written and decoded, and its Basic; none without a user or password. Without a password, the user name
 * is the credential (an API key, as some proxy services take it), hidden as a password is. undici reads
 * the variables when a dispatcher is made: a poll's caller reads these then, a rare one (a token's request)
 * as it sends.
 */
export function proxyCredentials(): string[] {
  const found: string[] = [];
  for (const name of [...PROXY_VARIABLES.http, ...PROXY_VARIABLES.https]) {
    const value = process.env[name];
    const url = value ? URL.parse(value) : null;
    const basic = url === null ? undefined : basicCredentials(url);
    if (basic === undefined) continue;
    const secret = url!.password || url!.username;
    found.push(value!, secret, percentDecode(secret), basic);
  }
  return found;
}

/**
 * The variable whose proxy EnvHttpProxyAgent would refuse: undici's own words ("Invalid URL") name neither
 * the variable nor the fix. `env`: `validate` is given its own.
 */
export function proxyVariableProblem(env: NodeJS.ProcessEnv = process.env): ProxyVariableError | undefined {
  for (const pair of Object.values(PROXY_VARIABLES)) {
    const name = proxyVariableName(pair, env);
    const value = env[name];
    if (!value) continue;
    const url = URL.parse(value);
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      return new ProxyVariableError(name);
    }
    // undici decodes the user and password with decodeURIComponent, and a stray % (a password 50%off)
    // makes it throw "URI malformed" at every request, which names neither the variable nor the fix.
    if (!decodes(url.username) || !decodes(url.password)) {
      return new ProxyVariableError(name, 'has a % in its user or password that is no escape: write a % there as %25');
    }
  }
  return undefined;
}

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/** The variable whose proxy a request to `url` goes through (unless NO_PROXY exempts its host); https:// falls back to the http one, as in undici. */
function proxyVariableFor(url: URL): string | undefined {
  const http = proxyVariableName(PROXY_VARIABLES.http);
  const https = proxyVariableName(PROXY_VARIABLES.https);
  const name = url.protocol === 'https:' && process.env[https] ? https : http;
  return process.env[name] ? name : undefined;
}

/**
 * NO_PROXY's address ranges (`10.0.0.0/8`, `fd00::/8`), which undici does not read (it compares names and
 * addresses as text): curl, Go and Python take them, and cluster-wide proxy settings (OpenShift's) list the
 * cluster's networks so. Matched against a URL's host written as an address, as they do; undefined without one.
 */
export function noProxyRanges(): BlockList | undefined {
  const ranges = new BlockList();
  let any = false;
  for (const entry of noProxyEntries()) {
    const [, address = '', bits] = /^\[?([\d.a-fA-F:]+)\]?\/(\d{1,3})$/.exec(entry) ?? [];
    const family = isIP(address);
    if (family === 0 || Number(bits) > (family === 4 ? 32 : 128)) continue;
    ranges.addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    any = true;
  }
  return any ? ranges : undefined;
}

/** NO_PROXY's entries, as undici reads the variables: the lower-case one first, when it is set at all. */
function noProxyEntries(): string[] {
  return (process.env['no_proxy'] ?? process.env['NO_PROXY'] ?? '').split(/[,\s]/);
}

/**
 * Whether NO_PROXY has a request to `url` go to it directly: its names, addresses and `*` as undici's
 * EnvHttpProxyAgent matches them (a name covers itself and the names under it, `*.name` only those, an entry
 * with a port only that port), and its address ranges, which the dispatcher adds (./dispatcher.ts).
 */
function exempted(url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/(.)\.$/, '$1');
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  for (const entry of noProxyEntries()) {
    if (entry === '') continue;
    const unbracketed = entry.replace(/^\[(.+)\]$/, '$1');
    // `[::1]:443` or `host:443`; a bare IPv6 address has more than one colon, and no port.
    const withPort = /^\[(.+)\]:(\d+)$/.exec(entry) ?? (unbracketed.split(':').length === 2 ? /^(.+):(\d+)$/.exec(unbracketed) : null);
    if (withPort !== null && Number(withPort[2]) !== 0 && Number(withPort[2]) !== port) continue;
    const name = (withPort?.[1] ?? unbracketed).replace(/^\*?\./, '').replace(/^(.+)\.$/, '$1').toLowerCase();
    if (name === '*' || (!entry.startsWith('*') && host === name) || host.endsWith(`.${name}`)) return true;
  }
  const ranges = noProxyRanges();
  return ranges !== undefined && inRanges(ranges, url);
}

/** Whether `origin`'s host is an address in `ranges`. */
export function inRanges(ranges: BlockList, origin: string | URL): boolean {
  const host = new URL(origin).hostname.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(host);
  return family !== 0 && ranges.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

// undici's errors for a proxy that answered no: a 407 to a request it was to forward (http://), and any
// status but 200 to the CONNECT that opens an https:// tunnel.
const FORWARD_REFUSED = /^Proxy Authentication Required \((407)\)$/;
const TUNNEL_REFUSED = /^Proxy response \((\d{3})\) !== 200 when HTTP Tunneling$/;

export interface ProxyRefusal {
  message: string;
  /** A 4xx: the proxy's settings or ours, the same at every attempt; a 5xx is the proxy's way to the server failing for now. */
  lasting: boolean;
}

/**
 * What the proxy's refusal of a request to `url` (or a proxy variable that is no URL) means and what to do,
 * never with the proxy's password; undefined when `err` is neither.
 */
export function proxyRefusal(err: unknown, url: string): ProxyRefusal | undefined {
  // Not the proxy's answer but ours: its variable is no URL, and no request could go out (./dispatcher.ts).
  if (err instanceof ProxyVariableError) return { message: err.message, lasting: true };
  const message = err instanceof Error ? err.message : '';
  const status = Number((FORWARD_REFUSED.exec(message) ?? TUNNEL_REFUSED.exec(message))?.[1]);
  const target = URL.parse(url);
  if (!status || target === null) return undefined;
  const variable = proxyVariableFor(target) ?? 'HTTPS_PROXY or HTTP_PROXY';
  const answered = `${status} ${STATUS_CODES[status] ?? ''}`.trim();
  if (status === 407) {
    const withLogin = URL.parse(process.env[variable] ?? '')?.username;
    const fix = withLogin
      ? 'refused the user and password in its URL: correct them (a : @ / or % in them written %3A %40 %2F %25)'
      : 'asks for a user and password: write them into its URL, http://user:password@host:port';
    return { message: `the proxy in ${variable} ${fix} (${answered})`, lasting: true };
  }
  const to = `${target.hostname}:${target.port || (target.protocol === 'https:' ? '443' : '80')}`;
  return status >= 500
    ? { message: `the proxy in ${variable} could not reach ${to} (${answered})`, lasting: false }
    : {
        message: `the proxy in ${variable} refused to open a way to ${to} (${answered}): have the proxy allow that host and port, or add the host to NO_PROXY if it is reached without the proxy`,
        lasting: true,
      };
}

/**
 * The variable of an https:// proxy that a request to `url` goes through: TLS is then with the proxy first,
 * and a port without TLS may be the proxy's as well as the server's.
 */
export function tlsProxyVariableFor(url: string): string | undefined {
  const via = proxyOf(url);
  return via?.proxy.protocol === 'https:' ? via.variable : undefined;
}

/**
 * The request's URL and the proxy it goes through, with the variable that names it; undefined for one that
 * NO_PROXY sends directly: a port without TLS there was laid at the proxy too, and the operator told to
 * write an https:// proxy that works http://.
 */
function proxyOf(url: string): { target: URL; variable: string; proxy: URL } | undefined {
  const target = URL.parse(url);
  const variable = target === null || exempted(target) ? undefined : proxyVariableFor(target);
  const proxy = variable === undefined ? null : URL.parse(process.env[variable]!);
  return proxy === null ? undefined : { target: target!, variable: variable!, proxy };
}

/**
 * Where `err`, a socket failure (a refused connection, a reset) of a request to `url`, happened when that
 * was at the proxy rather than at the server: the proxy's variable and the address that failed. Undefined when
 * its address and port are not the proxy's, or when that cannot be told (a proxy named by a host name on
 * the port the server has too).
 */
export function failedAtProxy(err: unknown, url: string): { variable: string; address: string } | undefined {
  const via = proxyOf(url);
  if (via === undefined || typeof err !== 'object' || err === null || !('port' in err) || !('address' in err)) return undefined;
  const { target, variable, proxy } = via;
  const proxyPort = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
  const targetPort = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const proxyHost = proxy.hostname.replace(/^\[(.*)\]$/, '$1');
  if (err.port !== proxyPort || typeof err.address !== 'string') return undefined;
  const atProxy = isIP(proxyHost) !== 0 ? err.address === proxyHost : proxyPort !== targetPort;
  if (!atProxy) return undefined;
  return { variable, address: `${isIP(err.address) === 6 ? `[${err.address}]` : err.address}:${proxyPort}` };
}
