import { oneLine } from '../../net/oneLine.ts';

const TITLE = /<title[^>]*>([^<]*)<\/title>/i;
const HTML_TYPE = /^\s*text\/html\b/i;
const HTML_START = /^\s*<(?:!doctype\s+html|html)\b/i;

/**
 * An HTML page where an API answers JSON, and its title when it has one ("Access Denied", "Request
 * Rejected"): the answer of something in front of the API (a web application firewall, a gateway, a
 * proxy), since Nova, Keystone and Huawei's API gateway answer a client that accepts only JSON in JSON,
 * their refusals (401, 403, 400) included. `undefined` for an answer that is no HTML page.
 */
export function htmlPage(answer: { headers: Record<string, string | string[] | undefined>; text: string }): { title: string | undefined } | undefined {
  const type = answer.headers['content-type'];
  if (!(typeof type === 'string' && HTML_TYPE.test(type)) && !HTML_START.test(answer.text)) return undefined;
  const title = oneLine(TITLE.exec(answer.text)?.[1] ?? '', 80);
  return { title: title === '' ? undefined : title };
}
