import { percentDecode } from './percentDecode.ts';

/**
 * A URL's `user:password`, each decoded, base64 as Basic authentication sends it (as curl does with
 * `https://user:pass@host/`, and undici for a proxy's URL); undefined without either.
 */
export function basicCredentials(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined;
  return Buffer.from(`${percentDecode(url.username)}:${percentDecode(url.password)}`).toString('base64');
}
