import { percentDecode } from './percentDecode.ts';

/**
 * A URL's `user:password`, each decoded, base64 as Basic authentication sends it (as curl does with
 * `https://user:pass@host/`, and undici for a proxy's URL); undefined without either.
 */
export function basicCredentials(url: URL): string | undefined {
  if (!hasLogin(url)) return undefined;
  return Buffer.from(`${percentDecode(url.username)}:${percentDecode(url.password)}`).toString('base64');
}

/** Whether `url` carries a user name or a password. */
export function hasLogin(url: URL): boolean {
  return url.username !== '' || url.password !== '';
}

/** `text` as a URL, when it is one that carries a user name or password (smtps://user:password@host); else null. */
export function urlWithLogin(text: string): URL | null {
  const url = text.includes('://') ? URL.parse(text) : null;
  return url !== null && hasLogin(url) ? url : null;
}
